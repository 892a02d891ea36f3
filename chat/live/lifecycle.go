package live

import (
	"context"
	"errors"
	"time"

	"github.com/chatd/chatd/assign"
	"github.com/chatd/chatd/chat"
)

// A desk's chats end or move on their own: a visitor who left is not
// waited for, and a chat its agent does not answer goes to another. The
// assigner keeps the clocks in Redis (any node's socket counts, any node
// may act); this node decides with what the database holds (whether
// someone still owes the visitor an answer) and tells everyone.

// Reasons of chat.closed and chat.transferred the lifecycle gives.
const (
	reasonVisitorLeft = "visitor_left"
	reasonNoResponse  = assign.ReasonNoResponse
)

// visitorFrame tells staff following a chat that its visitor came or went.
type visitorFrame struct {
	Type      string     `json:"type"`
	ChatID    string     `json:"chat_id"`
	VisitorID string     `json:"visitor_id"`
	LeftAt    *time.Time `json:"left_at,omitempty"` // visitor.offline: since when
}

// liveChat is a chat as staff see it live: with whether its visitor is
// connected, and since when they are gone.
type liveChat struct {
	*chat.Chat
	VisitorOnline bool       `json:"visitor_online"`
	VisitorLeftAt *time.Time `json:"visitor_left_at,omitempty"`
}

func withPresence(ch *chat.Chat, p assign.Presence) *liveChat {
	lc := &liveChat{Chat: ch, VisitorOnline: p.Online}
	if !p.Online && !p.LeftAt.IsZero() {
		t := p.LeftAt
		lc.VisitorLeftAt = &t
	}
	return lc
}

// chatsWithPresence reads the presence of the chats' visitors in one call.
func (s *Service) chatsWithPresence(ctx context.Context, chats []*chat.Chat) ([]*liveChat, error) {
	out := make([]*liveChat, len(chats))
	if len(chats) == 0 {
		return out, nil
	}
	ids := make([]string, len(chats))
	for i, ch := range chats {
		ids[i] = ch.VisitorID
	}
	ps, err := s.assign.Visitors(ctx, ids...)
	if err != nil {
		return nil, err
	}
	for i, ch := range chats {
		out[i] = withPresence(ch, ps[i])
	}
	return out, nil
}

// visitorSockets counts this node's visitor sockets per visitor, for the
// node's heartbeat.
func (s *Service) visitorSockets() map[string]int {
	out := map[string]int{}
	for _, c := range s.hub.all() {
		if c.counted.Load() {
			out[c.who.VisitorID]++
		}
	}
	return out
}

// visitorCame counts a visitor's new socket and, when they had been gone,
// tells the staff following their chat.
func (s *Service) visitorCame(ctx context.Context, c *conn) error {
	ch, err := s.assign.VisitorConnected(ctx, c.who.VisitorID, s.node)
	if err != nil {
		return err
	}
	c.counted.Store(true)
	if ch.ChatID != "" {
		s.publishVisitor(ctx, visitorFrame{Type: TVisitorOnline, ChatID: ch.ChatID, VisitorID: c.who.VisitorID})
	}
	return nil
}

// visitorWent uncounts a closed socket and, when it was the visitor's last
// anywhere, tells the staff following their chat.
func (s *Service) visitorWent(ctx context.Context, c *conn) {
	if !c.counted.Load() {
		return
	}
	ch, err := s.assign.VisitorDisconnected(ctx, c.who.VisitorID, s.node)
	if err != nil {
		s.log.Warn("visitor disconnected", "visitor", c.who.VisitorID, "err", err)
		return
	}
	if ch.ChatID != "" {
		at := ch.At
		s.publishVisitor(ctx, visitorFrame{Type: TVisitorOffline, ChatID: ch.ChatID, VisitorID: c.who.VisitorID, LeftAt: &at})
	}
}

func (s *Service) publishVisitor(ctx context.Context, f visitorFrame) {
	if err := s.hub.publish(ctx, s.hub.chatChannel(f.ChatID), &envelope{Kind: evFrame, Chat: f.ChatID, Staff: true, Frame: encode(f)}); err != nil {
		s.log.Warn("publish visitor presence", "chat", f.ChatID, "err", err)
	}
}

// lifecycle acts on what the assigner found due.
func (s *Service) lifecycle(ctx context.Context) {
	limits := assign.Limits{VisitorTimeout: s.cfg.VisitorTimeout, IdleClose: s.cfg.IdleClose, FirstResponse: s.cfg.FirstResponse,
		Recheck: max(5*s.cfg.LifecycleEvery, time.Second)}
	events, err := s.assign.Lifecycle(ctx, limits)
	if err != nil {
		s.log.Warn("lifecycle", "err", err)
		return
	}
	for _, ev := range events {
		var err error
		switch ev.Kind {
		case assign.EventOffline:
			at := ev.At
			s.publishVisitor(ctx, visitorFrame{Type: TVisitorOffline, ChatID: ev.ChatID, VisitorID: ev.ID, LeftAt: &at})
		case assign.EventQueuedLeft:
			err = s.visitorLeft(ctx, ev.ChatID, chat.StatusQueued)
		case assign.EventIdle:
			var owed bool
			if owed, err = s.store.AwaitsAnswer(ctx, ev.ChatID); err == nil && !owed {
				err = s.visitorLeft(ctx, ev.ChatID, chat.StatusActive)
			}
		case assign.EventUnanswered:
			err = s.unanswered(ctx, ev)
		}
		if err != nil {
			s.log.Warn("lifecycle", "event", ev.Kind, "chat", ev.ChatID, "err", err)
		}
	}
}

// visitorLeft closes a chat, still in state from, whose visitor left: its
// slot frees at once, and the queue behind it moves up.
func (s *Service) visitorLeft(ctx context.Context, chatID, from string) error {
	ch, outcome, err := s.store.Transit(ctx, chat.Transition{ChatID: chatID, From: []string{from}, To: chat.StatusClosed, Reason: reasonVisitorLeft})
	if err != nil {
		return err
	}
	if outcome != chat.Applied {
		if !ch.Open() { // closed meanwhile, and perhaps not released
			as, err := s.assign.Release(ctx, chatID)
			s.apply(ctx, as)
			return err
		}
		return nil // it moved (assigned, transferred): its clock starts again
	}
	s.metrics.visitorLeft.WithLabelValues(from).Inc()
	s.ended(ctx, ch, encode(closedFrame{Type: TClosed, ChatID: ch.ID, Reason: reasonVisitorLeft}))
	return nil
}

// unanswered moves a chat whose agent did not answer within the first
// response time to the next agent, unless an answer came after all.
func (s *Service) unanswered(ctx context.Context, ev assign.Event) error {
	answered, err := s.store.Answered(ctx, ev.ChatID, ev.At)
	if err != nil {
		return err
	}
	if answered {
		return s.assign.Answered(ctx, ev.ChatID)
	}
	as, err := s.assign.NoResponse(ctx, ev.ChatID, ev.ID, ev.At)
	if errors.Is(err, assign.ErrNotFound) {
		return nil // it moved meanwhile
	}
	if err != nil {
		return err
	}
	s.metrics.noResponse.Inc()
	s.apply(ctx, as)
	return nil
}
