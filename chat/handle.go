package chat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/chatd/chatd/assign"
)

// handle runs one client frame; it answers with an ack or an error frame.
func (s *Service) handle(ctx context.Context, c *conn, f *inFrame) {
	s.metrics.frames.WithLabelValues(f.Type).Inc()
	if err := s.dispatch(ctx, c, f); err != nil {
		if ErrorCode(err) == EInternal {
			s.log.Error("frame failed", "type", f.Type, "who", c.who.key(), "err", err)
		}
		c.reply(errFrame(err, f.ClientID))
	}
}

func (s *Service) dispatch(ctx context.Context, c *conn, f *inFrame) error {
	if f.Type == "" {
		return Errorf(EBadFrame, "frame has no type")
	}
	if mutates(f.Type) && knownType(f.Type) {
		if f.ClientID == "" {
			return Errorf(EMissingClient, "%s needs a client_id", f.Type)
		}
		if _, err := uuid.Parse(f.ClientID); err != nil {
			return Errorf(EMissingClient, "client_id must be a UUID")
		}
	}
	if f.Type != TMessage && f.Type != TNote && f.Type != TTyping {
		c.pending.Wait() // earlier messages are stored before any other change
	}
	staff := c.isStaff()
	switch {
	case f.Type == TStart && !staff:
		return s.start(ctx, c, f)
	case f.Type == TMessage:
		return s.message(ctx, c, f, KindMessage)
	case f.Type == TNote && staff:
		return s.message(ctx, c, f, KindNote)
	case f.Type == TTyping || f.Type == TRead:
		return s.ephemeral(ctx, c, f)
	case f.Type == TResume:
		return s.resume(ctx, c, f)
	case f.Type == TClose:
		return s.closeChat(ctx, c, f)
	case f.Type == TCSAT && !staff:
		return s.csat(ctx, c, f)
	case f.Type == TPresence && staff:
		return s.presence(ctx, c, f)
	case f.Type == TTransfer && staff:
		return s.transfer(ctx, c, f)
	case f.Type == TEscalate && staff:
		return s.escalate(ctx, c, f)
	case knownType(f.Type):
		return Errorf(EForbidden, "%s is not allowed on this socket", f.Type)
	}
	return Errorf(EUnknownType, "unknown frame type %q", f.Type)
}

func knownType(t string) bool {
	switch t {
	case TStart, TMessage, TNote, TTyping, TRead, TResume, TClose, TCSAT, TPresence, TTransfer, TEscalate:
		return true
	}
	return false
}

func (s *Service) ack(c *conn, f *inFrame, a ackFrame) {
	a.Type, a.ClientID = TAck, f.ClientID
	c.reply(encode(a))
}

// checkText validates a message text: present, within the size limit.
func (s *Service) checkText(text string) (string, error) {
	if len(text) > s.cfg.MaxMessageBytes {
		return "", Errorf(ETooLarge, "message is %d bytes, limit %d", len(text), s.cfg.MaxMessageBytes)
	}
	if strings.TrimSpace(text) == "" {
		return "", Errorf(EInvalid, "text is empty")
	}
	if !utf8.ValidString(text) {
		return "", Errorf(EInvalid, "text is not UTF-8")
	}
	return MaskCards(text), nil
}

func (s *Service) start(ctx context.Context, c *conn, f *inFrame) error {
	if !f.AgeConfirmed {
		return Errorf(EAgeRequired, "the service is for adults: age_confirmed must be true")
	}
	text, err := s.checkText(f.Text)
	if err != nil {
		return err
	}
	if len(f.Name) > 100 || len(f.Email) > 254 || (f.Email != "" && !strings.Contains(f.Email, "@")) {
		return Errorf(EInvalid, "name or email is not valid")
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
		return Errorf(EUnknownUnit, "unknown unit %q (units: %s)", unit, strings.Join(s.cfg.Units, ", "))
	}
	v := &Visitor{ID: c.who.visitorID, Name: strings.TrimSpace(f.Name), Email: strings.TrimSpace(f.Email)}
	ch, outcome, err := s.store.StartChat(ctx, StartRequest{Principal: c.who.key(), ClientID: f.ClientID, Visitor: v, Unit: unit, Priority: priority, Text: text})
	if err != nil {
		return err
	}
	if outcome != Applied {
		if ch.Status == StatusQueued {
			// A resend may follow a failure between the commit and the
			// queue: queueing is idempotent, so make sure it happened.
			as, err := s.assign.Enqueue(ctx, ch.ID, ch.Unit, ch.Priority)
			if err != nil {
				return fmt.Errorf("enqueue: %w", err)
			}
			s.apply(ctx, as)
		}
		s.ack(c, f, ackFrame{ChatID: ch.ID, Seq: 1, Existing: outcome == Refused})
		return nil
	}
	if v.Name != "" {
		c.visitorName = v.Name // the reader's own field: later messages carry the name
	}
	s.metrics.started.WithLabelValues(unit).Inc()
	as, err := s.assign.Enqueue(ctx, ch.ID, unit, priority)
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	// Acked once queued, so chats started one after another queue in that
	// order whichever node takes them.
	s.ack(c, f, ackFrame{ChatID: ch.ID, Seq: 1})
	// Every tab of the visitor follows the chat, then the assignment is
	// told: a tab that joins after it reads the chat as active.
	first := newMessageFrame(Message{ChatID: ch.ID, Kind: KindMessage, Seq: 1, Text: text, At: ch.CreatedAt,
		From: Sender{Kind: FromVisitor, ID: v.ID, Name: v.Name}})
	if err := s.hub.publish(ctx, s.hub.visitorChannel(v.ID), &envelope{Kind: evJoin, Chat: ch.ID, First: &first}); err != nil {
		return err
	}
	switch {
	case len(as) == 1 && as[0].ChatID == ch.ID && as[0].AgentID != "":
		// Straight to an agent: no waiting chat moved, so no unit's queue
		// needs telling.
		s.assigned(ctx, as[0], &first)
	case len(as) == 0:
		s.queueChanged(ctx, unit)
	default:
		s.apply(ctx, as) // tells of the queue change
	}
	return nil
}

func (s *Service) message(ctx context.Context, c *conn, f *inFrame, kind string) error {
	if f.ChatID == "" {
		return Errorf(EInvalid, "chat_id is required")
	}
	text, err := s.checkText(f.Text)
	if err != nil {
		return err
	}
	from := c.who.sender()
	if from.Kind == FromVisitor {
		from.Name = c.visitorName
	}
	// The reader goes on with the next frame while this one commits: one
	// socket is not limited to a message per commit. Frames other than
	// messages wait for these first (c.settle), so they see them stored.
	c.inflight <- struct{}{}
	c.pending.Add(1)
	clientID, chatID := f.ClientID, f.ChatID
	s.append(ctx, AppendRequest{Principal: c.who.key(), ClientID: f.ClientID, ChatID: f.ChatID, Kind: kind, From: from,
		Text: text, VisitorID: c.who.visitorID, Agent: c.who.agent}, func(r AppendResult) {
		if r.Err != nil {
			if ErrorCode(r.Err) == EInternal {
				s.log.Error("append", "chat", chatID, "err", r.Err)
			}
			c.reply(errFrame(r.Err, clientID))
		} else {
			c.reply(encode(ackFrame{Type: TAck, ClientID: clientID, ChatID: chatID, Seq: r.Message.Seq}))
		}
		c.pending.Done()
		<-c.inflight
	})
	return nil
}

// chatFor loads a chat the connection may act on: its visitor's own, or,
// for staff, one of their units (agents: one assigned to them, unless
// anyAgent).
func (s *Service) chatFor(ctx context.Context, c *conn, chatID string, anyAgent bool) (*Chat, error) {
	if chatID == "" {
		return nil, Errorf(EInvalid, "chat_id is required")
	}
	ch, err := s.store.Chat(ctx, chatID)
	if err != nil {
		return nil, err
	}
	if !c.isStaff() {
		if ch.VisitorID != c.who.visitorID {
			return nil, Errorf(ENotFound, "no such chat")
		}
		return ch, nil
	}
	a := c.who.agent
	if !a.Serves(ch.Unit) && ch.AgentID != a.ID {
		return nil, Errorf(ENotFound, "no such chat")
	}
	if a.Role == RoleAgent && !anyAgent && ch.AgentID != a.ID {
		return nil, Errorf(ENotAssigned, "chat is not assigned to you")
	}
	return ch, nil
}

func (s *Service) ephemeral(ctx context.Context, c *conn, f *inFrame) error {
	if !c.follows(f.ChatID) {
		if _, err := s.chatFor(ctx, c, f.ChatID, false); err != nil {
			return err
		}
	}
	var frame []byte
	if f.Type == TTyping {
		frame = encode(typingFrame{Type: TTyping, ChatID: f.ChatID, On: f.On, From: c.who.sender()})
	} else {
		if f.Seq < 1 {
			return Errorf(EInvalid, "seq must be at least 1")
		}
		frame = encode(readFrame{Type: TRead, ChatID: f.ChatID, Seq: f.Seq, From: c.who.sender()})
	}
	return s.hub.publish(ctx, s.hub.chatChannel(f.ChatID), &envelope{Kind: evFrame, Chat: f.ChatID, Frame: frame, Skip: c.who.key()})
}

func (s *Service) resume(ctx context.Context, c *conn, f *inFrame) error {
	if f.AfterSeq < 0 || (f.AfterNote != nil && *f.AfterNote < 0) {
		return Errorf(EInvalid, "after_seq must not be negative")
	}
	// An agent resumes their own chats; supervisors and admins may look
	// into any chat of their units, and each such look is on the record.
	ch, err := s.chatFor(ctx, c, f.ChatID, false)
	if err != nil {
		return err
	}
	if f.AfterSeq > ch.LastSeq || (f.AfterNote != nil && *f.AfterNote > ch.LastNote) {
		return Errorf(EInvalid, "after_seq %d is past the chat's last seq %d (after_note: last %d)", f.AfterSeq, ch.LastSeq, ch.LastNote)
	}
	if c.isStaff() && ch.AgentID != c.who.agent.ID && !c.follows(ch.ID) {
		a := c.who.agent
		if err := s.staff.Audit(ctx, AuditEntry{ActorKind: a.Role, ActorID: a.ID, Action: "chat.viewed", ObjectKind: "chat", ObjectID: ch.ID,
			Detail: "resume from seq " + strconv.FormatInt(f.AfterSeq, 10)}); err != nil {
			return err
		}
	}
	c.allow(f.ChatID)
	c.enqueue(item{resume: f})
	return nil
}

func (s *Service) closeChat(ctx context.Context, c *conn, f *inFrame) error {
	ch, err := s.chatFor(ctx, c, f.ChatID, false)
	if err != nil {
		return err
	}
	reason := "visitor_closed"
	if c.isStaff() {
		reason = "agent_closed"
	}
	ch, outcome, err := s.store.Transit(ctx, Transition{Principal: c.who.key(), ClientID: f.ClientID, ChatID: ch.ID,
		From: froms(StatusClosed), To: StatusClosed, Reason: reason})
	if err != nil {
		return err
	}
	switch outcome {
	case Refused:
		return illegal(ch.Status, StatusClosed)
	case Duplicate:
		s.ack(c, f, ackFrame{ChatID: ch.ID})
		return nil
	}
	s.ack(c, f, ackFrame{ChatID: ch.ID})
	s.ended(ctx, ch, encode(closedFrame{Type: TClosed, ChatID: ch.ID, Reason: reason}), "chat.closed")
	return nil
}

// ended tells everyone following a chat that it ended, frees its slot and
// lets the next waiting chat in.
func (s *Service) ended(ctx context.Context, ch *Chat, frame []byte, event string) {
	if err := s.hub.publish(ctx, s.hub.chatChannel(ch.ID), &envelope{Kind: evLeave, Chat: ch.ID, Frame: frame}); err != nil {
		s.log.Error("publish end", "chat", ch.ID, "err", err)
	}
	as, err := s.assign.Release(ctx, ch.ID)
	if err != nil {
		s.log.Error("release", "chat", ch.ID, "err", err)
	}
	s.apply(ctx, as)
	s.queueChanged(ctx, ch.Unit)
	s.metrics.ended.WithLabelValues(ch.Status).Inc()
	if s.events != nil {
		s.events.ChatEvent(ctx, event, ch)
	}
}

func (s *Service) csat(ctx context.Context, c *conn, f *inFrame) error {
	if f.Rating < 1 || f.Rating > 5 {
		return Errorf(EInvalidRating, "rating must be 1 to 5")
	}
	if len(f.Comment) > s.cfg.MaxMessageBytes {
		return Errorf(ETooLarge, "comment is %d bytes, limit %d", len(f.Comment), s.cfg.MaxMessageBytes)
	}
	ch, err := s.chatFor(ctx, c, f.ChatID, false)
	if err != nil {
		return err
	}
	if err := s.store.Rate(ctx, c.who.key(), f.ClientID, ch.ID, c.who.visitorID, f.Rating, MaskCards(f.Comment)); err != nil {
		return err
	}
	s.ack(c, f, ackFrame{ChatID: ch.ID})
	return nil
}

func (s *Service) presence(ctx context.Context, c *conn, f *inFrame) error {
	switch f.Status {
	case assign.StatusOnline, assign.StatusAway, assign.StatusOffline:
	default:
		return Errorf(EInvalidPresence, "status must be online, away or offline")
	}
	// Presence is live state, kept in Redis: so is the record of which
	// client_ids set it, for a day. A resend is acked, not applied again
	// (it would undo a later change).
	seen := s.cfg.Prefix + "presence-req:" + c.who.agent.ID + ":" + f.ClientID
	if first, err := s.rdb.SetNX(ctx, seen, 1, 24*time.Hour).Result(); err != nil {
		return err
	} else if !first {
		s.ack(c, f, ackFrame{})
		return nil
	}
	// The stored record, not the one read at connect: an admin may have
	// changed the capacity or the units since.
	var as []assign.Assignment
	a, err := s.store.Agent(ctx, c.who.agent.ID)
	if err == nil {
		as, err = s.assign.SetPresence(ctx, assign.Agent{ID: a.ID, Name: a.Name, Units: a.Units, MaxChats: a.MaxChats}, f.Status)
	}
	if err != nil {
		s.rdb.Del(context.WithoutCancel(ctx), seen) // not applied: a resend may try again
		return err
	}
	s.ack(c, f, ackFrame{})
	s.apply(ctx, as)
	frame := encode(presenceFrame{Type: TPresence, Agent: agentRef{ID: a.ID, Name: a.Name}, Status: f.Status, Units: a.Units})
	for _, u := range a.Units {
		if err := s.hub.publish(ctx, s.hub.unitChannel(u), &envelope{Kind: evFrame, Staff: true, Frame: frame}); err != nil {
			return err
		}
		s.queueChanged(ctx, u)
	}
	return nil
}

func (s *Service) transfer(ctx context.Context, c *conn, f *inFrame) error {
	// A resent transfer is answered before authorization: once moved, the
	// chat may be out of the sender's reach.
	if seen, err := s.store.Seen(ctx, c.who.key(), f.ClientID); err != nil || seen {
		if err == nil {
			s.ack(c, f, ackFrame{ChatID: f.ChatID})
		}
		return err
	}
	ch, err := s.chatFor(ctx, c, f.ChatID, false)
	if err != nil {
		return err
	}
	if !ch.Open() {
		return illegal(ch.Status, StatusActive)
	}
	unit := f.Unit
	if unit == "" {
		unit = ch.Unit
	}
	if !s.validUnit(unit) {
		return Errorf(EUnknownUnit, "unknown unit %q", unit)
	}
	if unit == ch.Unit && (f.AgentID == "" || f.AgentID == ch.AgentID) {
		return Errorf(EInvalid, "transfer needs another unit or another agent")
	}
	as, err := s.assign.Transfer(ctx, ch.ID, unit, f.AgentID)
	switch {
	case errors.Is(err, assign.ErrAgentFull):
		return Errorf(EAgentFull, "that agent has no free slot")
	case errors.Is(err, assign.ErrAgentUnavailable):
		return Errorf(EAgentAway, "that agent is not online in unit %s", unit)
	case errors.Is(err, assign.ErrNotFound):
		return Errorf(ENotFound, "chat is not live")
	case err != nil:
		return err
	}
	none := ""
	moved, outcome, err := s.store.Transit(ctx, Transition{Principal: c.who.key(), ClientID: f.ClientID, ChatID: ch.ID,
		From: froms(StatusQueued), To: StatusQueued, AgentID: &none, Unit: unit})
	if err != nil {
		return err
	}
	if outcome == Refused {
		return illegal(moved.Status, StatusQueued)
	}
	s.ack(c, f, ackFrame{ChatID: ch.ID})
	var from *agentRef
	if ch.AgentID != "" {
		r := s.agentRef(ctx, ch.AgentID)
		from = &r
	}
	tf := transferredFrame{Type: TTransferred, ChatID: ch.ID, Unit: unit, FromAgent: from, Reason: "transfer"}
	if f.AgentID != "" {
		r := s.agentRef(ctx, f.AgentID)
		tf.Agent = &r
	}
	msgs := []published{{s.hub.chatChannel(ch.ID), &envelope{Kind: evFrame, Chat: ch.ID, Frame: encode(tf)}}}
	if ch.AgentID != "" {
		msgs = append(msgs, published{s.hub.agentChannel(ch.AgentID), &envelope{Kind: evLeave, Chat: ch.ID}})
	}
	if err := s.hub.publishMany(ctx, msgs); err != nil {
		return err
	}
	s.apply(ctx, as)
	s.queueChanged(ctx, ch.Unit)
	s.queueChanged(ctx, unit)
	return nil
}

func (s *Service) escalate(ctx context.Context, c *conn, f *inFrame) error {
	ch, err := s.chatFor(ctx, c, f.ChatID, false)
	if err != nil {
		return err
	}
	subject := strings.TrimSpace(f.Subject)
	if len(subject) > 200 {
		return Errorf(EInvalid, "subject is longer than 200 bytes")
	}
	ch, err = s.Escalate(ctx, ch, c.who.key(), f.ClientID, subject, c.who.sender())
	if err != nil {
		return err
	}
	s.ack(c, f, ackFrame{ChatID: ch.ID, TicketID: ch.TicketID})
	return nil
}

// Escalate turns an open chat into a ticket holding its transcript and tells
// everyone following it. It is also the REST escalation's entry point.
func (s *Service) Escalate(ctx context.Context, ch *Chat, principal, clientID, subject string, by Sender) (*Chat, error) {
	transcript, err := s.transcript(ctx, ch)
	if err != nil {
		return nil, err
	}
	if subject == "" {
		subject = firstLine(transcript.firstText, 80)
	}
	done, outcome, err := s.store.Escalate(ctx, Escalation{Principal: principal, ClientID: clientID, ChatID: ch.ID,
		Subject: subject, Transcript: transcript.text, By: by})
	if err != nil {
		return nil, err
	}
	switch outcome {
	case Refused:
		return nil, illegal(done.Status, StatusEscalated)
	case Duplicate:
		return done, nil
	}
	s.ended(ctx, done, encode(escalatedFrame{Type: TEscalated, ChatID: done.ID, TicketID: done.TicketID}), "chat.escalated")
	return done, nil
}

type transcriptText struct{ text, firstText string }

// transcript renders a chat's messages as plain text, one line each.
func (s *Service) transcript(ctx context.Context, ch *Chat) (transcriptText, error) {
	msgs, err := s.store.Messages(ctx, ch.ID, KindMessage, 0, 0)
	if err != nil {
		return transcriptText{}, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Chat %s (%s), started %s\n", ch.ID, ch.Unit, ch.CreatedAt.Format("2006-01-02 15:04:05Z07:00"))
	out := transcriptText{}
	for _, m := range msgs {
		name := m.From.Name
		if name == "" {
			name = m.From.Kind
		}
		fmt.Fprintf(&b, "[%s] %s: %s\n", m.At.Format("15:04:05"), name, m.Text)
		if out.firstText == "" {
			out.firstText = m.Text
		}
	}
	out.text = b.String()
	return out, nil
}

func firstLine(s string, max int) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max] + "…"
}
