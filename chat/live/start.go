package live

import (
	"context"
	"fmt"
	"strings"

	"github.com/chatd/chatd/chat"
)

// start serves chat.start in three steps: check and route the request,
// store the chat with its first message, then queue it and tell everyone.
func (s *Service) start(ctx context.Context, c *conn, f *inFrame) error {
	req, err := s.startRequest(c.who, f, c.visitorName)
	if err != nil {
		return err
	}
	ch, outcome, err := s.store.StartChat(ctx, req)
	if err != nil {
		return err
	}
	if outcome != chat.Applied {
		return s.restarted(ctx, c, f, ch, outcome)
	}
	if req.Visitor.Name != "" {
		c.visitorName = req.Visitor.Name // the reader's own field: later messages carry the name
	}
	s.metrics.started.WithLabelValues(ch.Unit).Inc()
	return s.queueStarted(ctx, c, f, ch, req)
}

// startRequest checks a chat.start and decides the chat's unit and
// priority: the visitor's pick, or the classification of the text (which
// also says whether the matter is urgent). A start without a name is the
// visitor's under the name they have (known, the connection's name): the
// first message carries it like the later ones.
func (s *Service) startRequest(who chat.Principal, f *inFrame, known string) (chat.StartRequest, error) {
	if !f.AgeConfirmed {
		return chat.StartRequest{}, chat.Errorf(chat.EAgeRequired, "the service is for adults: age_confirmed must be true")
	}
	text, err := chat.CheckText(f.Text, s.cfg.MaxMessageBytes)
	if err != nil {
		return chat.StartRequest{}, err
	}
	name, email, err := chat.CheckVisitor(f.Name, f.Email)
	if err != nil {
		return chat.StartRequest{}, err
	}
	if name == "" {
		name = known
	}
	unit, priority := f.Unit, 0
	cl := s.classify.Classify(text)
	if cl.Urgent {
		priority = 1
	}
	if unit == "" || unit == "auto" {
		unit = cl.Unit
		if !s.validUnit(unit) {
			unit = s.cfg.Units[0]
		}
	} else if !s.validUnit(unit) {
		return chat.StartRequest{}, chat.Errorf(chat.EUnknownUnit, "unknown unit %q (units: %s)", unit, strings.Join(s.cfg.Units, ", "))
	}
	return chat.StartRequest{Who: who, ClientID: f.ClientID, Unit: unit, Priority: priority, Text: text,
		Visitor: &chat.Visitor{ID: who.VisitorID, Name: name, Email: email}}, nil
}

// restarted answers a chat.start that made no new chat: a resend of one
// (Duplicate) or a start while the visitor has an open chat (Refused).
func (s *Service) restarted(ctx context.Context, c *conn, f *inFrame, ch *chat.Chat, outcome chat.Outcome) error {
	if ch.Status == chat.StatusQueued {
		// A resend may follow a failure between the commit and the queue:
		// queueing is idempotent, so make sure it happened.
		as, err := s.assign.EnqueueChat(ctx, waiting(ch))
		if err != nil {
			return fmt.Errorf("enqueue: %w", err)
		}
		s.apply(ctx, as)
	}
	s.ack(c, f, ackFrame{ChatID: ch.ID, Seq: 1, Existing: outcome == chat.Refused})
	return nil
}

// queueStarted puts a stored chat in its unit's queue, acks the start, has
// every tab of the visitor follow it, and then tells of its assignment or
// its place in the queue.
func (s *Service) queueStarted(ctx context.Context, c *conn, f *inFrame, ch *chat.Chat, req chat.StartRequest) error {
	as, err := s.assign.EnqueueChat(ctx, waiting(ch))
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	// Acked once queued, so chats started one after another queue in that
	// order whichever node takes them.
	s.ack(c, f, ackFrame{ChatID: ch.ID, Seq: 1})
	// Every tab follows the chat before the assignment is told: a tab that
	// joins after it reads the chat as active.
	first := newMessageFrame(chat.Message{ChatID: ch.ID, Kind: chat.KindMessage, Seq: 1, Text: req.Text, At: ch.CreatedAt,
		From: chat.Sender{Kind: chat.FromVisitor, ID: req.Visitor.ID, Name: req.Visitor.Name}})
	if err := s.hub.publish(ctx, s.hub.visitorChannel(req.Visitor.ID), &envelope{Kind: evJoin, Chat: ch.ID, First: &first}); err != nil {
		return err
	}
	switch {
	case len(as) == 1 && as[0].ChatID == ch.ID && as[0].AgentID != "":
		// Straight to an agent: no waiting chat moved, so no unit's queue
		// needs telling.
		s.assigned(ctx, as[0])
	case len(as) == 0:
		s.queueChanged(ctx, ch.Unit)
	default:
		s.apply(ctx, as) // tells of the queue change
	}
	return nil
}
