package live

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/chatd/chatd/assign"
	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
)

// frameActions names, for each client frame, what the access policy is
// asked.
var frameActions = map[string]access.Action{
	TStart:    access.StartChat,
	TMessage:  access.WriteChat,
	TNote:     access.NoteChat,
	TTyping:   access.ReadChat,
	TRead:     access.ReadChat,
	TResume:   access.ReadChat,
	TClose:    access.CloseChat,
	TCSAT:     access.RateChat,
	TPresence: access.SetPresence,
	TTransfer: access.TransferChat,
	TEscalate: access.EscalateChat,
	TPing:     access.KeepAlive,
}

// ClientFrames returns every client frame type with the action the access
// policy is asked for it (a copy): the access matrix test checks that it
// decides each of them for every kind of principal.
func ClientFrames() map[string]access.Action { return maps.Clone(frameActions) }

// handle runs one client frame; it answers with an ack or an error frame.
func (s *Service) handle(ctx context.Context, c *conn, f *inFrame) {
	s.metrics.frames.WithLabelValues(f.Type).Inc()
	if err := s.dispatch(ctx, c, f); err != nil {
		if chat.ErrorCode(err) == chat.EInternal {
			s.log.Error("frame failed", "type", f.Type, "who", c.who.Key(), "err", err)
		}
		c.reply(errFrame(err, f.ClientID))
	}
}

func (s *Service) dispatch(ctx context.Context, c *conn, f *inFrame) error {
	if f.Type == "" {
		return chat.Errorf(chat.EBadFrame, "frame has no type")
	}
	action, known := frameActions[f.Type]
	if !known {
		return chat.Errorf(chat.EUnknownType, "unknown frame type %q", f.Type)
	}
	if mutates(f.Type) {
		if f.ClientID == "" {
			return chat.Errorf(chat.EMissingClient, "%s needs a client_id", f.Type)
		}
		if _, err := uuid.Parse(f.ClientID); err != nil {
			return chat.Errorf(chat.EMissingClient, "client_id must be a UUID")
		}
	}
	if err := access.Allow(c.who, action); err != nil {
		return err
	}
	if f.Type == TPing {
		// A client's liveness probe: the browser cannot see the
		// server's WebSocket pings, so it asks for an answer of its own.
		c.reply(encode(pongFrame{Type: TPong}))
		return nil
	}
	if f.Type != TMessage && f.Type != TNote && f.Type != TTyping {
		c.pending.Wait() // earlier messages are stored before any other change
	}
	switch f.Type {
	case TStart:
		return s.start(ctx, c, f)
	case TMessage:
		return s.message(ctx, c, f, chat.KindMessage)
	case TNote:
		return s.message(ctx, c, f, chat.KindNote)
	case TTyping, TRead:
		return s.ephemeral(ctx, c, f)
	case TResume:
		return s.resume(ctx, c, f)
	case TClose:
		return s.closeChat(ctx, c, f)
	case TCSAT:
		return s.csat(ctx, c, f)
	case TPresence:
		return s.presence(ctx, c, f)
	case TTransfer:
		return s.transfer(ctx, c, f)
	}
	return s.escalate(ctx, c, f)
}

func (s *Service) ack(c *conn, f *inFrame, a ackFrame) {
	a.Type, a.ClientID = TAck, f.ClientID
	c.reply(encode(a))
}

// chatFor loads a chat and asks the access policy whether the connection
// may do action to it.
func (s *Service) chatFor(ctx context.Context, who chat.Principal, chatID string, action access.Action) (*chat.Chat, error) {
	if chatID == "" {
		return nil, chat.Errorf(chat.EInvalid, "chat_id is required")
	}
	ch, err := s.store.Chat(ctx, chatID)
	if err != nil {
		return nil, err
	}
	if err := access.Chat(who, action, ch); err != nil {
		return nil, err
	}
	return ch, nil
}

// message hands a message or note to the group commit; the store checks,
// with the chat row locked, that the sender may write it.
func (s *Service) message(ctx context.Context, c *conn, f *inFrame, kind string) error {
	if f.ChatID == "" {
		return chat.Errorf(chat.EInvalid, "chat_id is required")
	}
	text, err := chat.CheckText(f.Text, s.cfg.MaxMessageBytes)
	if err != nil {
		return err
	}
	from := c.who.Sender()
	if from.Kind == chat.FromVisitor {
		from.Name = c.visitorName
	}
	// The reader goes on with the next frame while this one commits: one
	// socket is not limited to a message per commit. Frames other than
	// messages wait for these first (dispatch's pending.Wait), so they see
	// them stored.
	c.inflight <- struct{}{}
	c.pending.Add(1)
	clientID, chatID := f.ClientID, f.ChatID
	s.append(ctx, chat.AppendRequest{Who: c.who, ClientID: f.ClientID, ChatID: f.ChatID, Kind: kind, From: from, Text: text}, func(r chat.AppendResult) {
		if r.Err != nil {
			if chat.ErrorCode(r.Err) == chat.EInternal {
				s.log.Error("append", "chat", chatID, "err", r.Err)
			}
			c.reply(errFrame(r.Err, clientID))
		} else {
			c.reply(encode(ackFrame{Type: TAck, ClientID: clientID, ChatID: chatID, Seq: r.Message.Seq}))
		}
	}, func() {
		// Released only once relayed: a later frame (a close) is never
		// relayed ahead of this message.
		c.pending.Done()
		<-c.inflight
	})
	return nil
}

// ephemeral relays typing and read receipts to the chat's other side.
func (s *Service) ephemeral(ctx context.Context, c *conn, f *inFrame) error {
	if !c.follows(f.ChatID) {
		if _, err := s.chatFor(ctx, c.who, f.ChatID, access.ReadChat); err != nil {
			return err
		}
	}
	var frame []byte
	if f.Type == TTyping {
		frame = encode(typingFrame{Type: TTyping, ChatID: f.ChatID, On: f.On, From: c.who.Sender()})
	} else {
		if f.Seq < 1 {
			return chat.Errorf(chat.EInvalid, "seq must be at least 1")
		}
		frame = encode(readFrame{Type: TRead, ChatID: f.ChatID, Seq: f.Seq, From: c.who.Sender()})
	}
	return s.hub.publish(ctx, s.hub.chatChannel(f.ChatID), &envelope{Kind: evFrame, Chat: f.ChatID, Frame: frame, Skip: c.who.Key()})
}

// resume checks a resume and hands it to the writer, which owns what the
// connection has delivered.
func (s *Service) resume(ctx context.Context, c *conn, f *inFrame) error {
	if f.AfterSeq < 0 || (f.AfterNote != nil && *f.AfterNote < 0) {
		return chat.Errorf(chat.EInvalid, "after_seq must not be negative")
	}
	ch, err := s.chatFor(ctx, c.who, f.ChatID, access.ReadChat)
	if err != nil {
		s.auditDenied(ctx, c.who, f.ChatID, err)
		return err
	}
	if f.AfterSeq > ch.LastSeq || (f.AfterNote != nil && *f.AfterNote > ch.LastNote) {
		return chat.Errorf(chat.EInvalid, "after_seq %d is past the chat's last seq %d (after_note: last %d)", f.AfterSeq, ch.LastSeq, ch.LastNote)
	}
	// A supervisor's or admin's look into a chat not theirs is on the record.
	if access.Audited(c.who, ch) && !c.follows(ch.ID) {
		if err := s.audit.Record(ctx, c.who, access.AuditChatViewed, access.ObjectChat, ch.ID, "resume from seq "+strconv.FormatInt(f.AfterSeq, 10)); err != nil {
			return err
		}
	}
	c.allow(f.ChatID)
	c.enqueue(item{resume: f})
	return nil
}

func (s *Service) closeChat(ctx context.Context, c *conn, f *inFrame) error {
	ch, err := s.chatFor(ctx, c.who, f.ChatID, access.CloseChat)
	if err != nil {
		return err
	}
	reason := "visitor_closed"
	if c.isStaff() {
		reason = "agent_closed"
	}
	ch, outcome, err := s.store.Transit(ctx, chat.Transition{Who: c.who, ClientID: f.ClientID, ChatID: ch.ID,
		From: chat.OpenStates, To: chat.StatusClosed, Reason: reason})
	if err != nil {
		return err
	}
	if outcome == chat.Refused {
		return chat.Finished(ch.Status)
	}
	s.ack(c, f, ackFrame{ChatID: ch.ID})
	if outcome == chat.Applied {
		s.ended(ctx, ch, encode(closedFrame{Type: TClosed, ChatID: ch.ID, Reason: reason}))
	}
	return nil
}

// ended tells everyone following a chat that it ended, frees its slot and
// lets the next waiting chat in.
func (s *Service) ended(ctx context.Context, ch *chat.Chat, frame []byte) {
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
}

func (s *Service) csat(ctx context.Context, c *conn, f *inFrame) error {
	if f.Rating < 1 || f.Rating > 5 {
		return chat.Errorf(chat.EInvalidRating, "rating must be 1 to 5")
	}
	if len(f.Comment) > s.cfg.MaxMessageBytes {
		return chat.Errorf(chat.ETooLarge, "comment is %d bytes, limit %d", len(f.Comment), s.cfg.MaxMessageBytes)
	}
	ch, err := s.chatFor(ctx, c.who, f.ChatID, access.RateChat)
	if err != nil {
		return err
	}
	if err := s.store.Rate(ctx, c.who, f.ClientID, ch.ID, f.Rating, chat.Mask(f.Comment)); err != nil {
		return err
	}
	s.ack(c, f, ackFrame{ChatID: ch.ID})
	return nil
}

func (s *Service) presence(ctx context.Context, c *conn, f *inFrame) error {
	switch f.Status {
	case assign.StatusOnline, assign.StatusAway, assign.StatusOffline:
	default:
		return chat.Errorf(chat.EInvalidPresence, "status must be online, away or offline")
	}
	// Presence is live state, kept in Redis: so is the record of which
	// client_ids set it, for a day. A resend is acked, not applied again
	// (it would undo a later change).
	seen := s.cfg.Prefix + "presence-req:" + c.who.Agent.ID + ":" + f.ClientID
	if first, err := s.rdb.SetNX(ctx, seen, 1, 24*time.Hour).Result(); err != nil {
		return err
	} else if !first {
		s.ack(c, f, ackFrame{})
		return nil
	}
	// The stored record, not the one read at connect: an admin may have
	// changed the capacity or the units since.
	var as []assign.Assignment
	a, err := s.store.Agent(ctx, c.who.Agent.ID)
	if err == nil {
		as, err = s.assign.SetPresence(ctx, assignAgent(a), f.Status)
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

func assignAgent(a *chat.Agent) assign.Agent {
	return assign.Agent{ID: a.ID, Name: a.Name, Units: a.Units, MaxChats: a.MaxChats}
}

func (s *Service) transfer(ctx context.Context, c *conn, f *inFrame) error {
	// A resent transfer is answered before authorization: once moved, the
	// chat may be out of the sender's reach.
	if seen, err := s.store.Seen(ctx, c.who.Key(), f.ClientID); err != nil || seen {
		if err == nil {
			s.ack(c, f, ackFrame{ChatID: f.ChatID})
		}
		return err
	}
	ch, err := s.chatFor(ctx, c.who, f.ChatID, access.TransferChat)
	if err != nil {
		return err
	}
	if !ch.Open() {
		return chat.Finished(ch.Status)
	}
	unit := f.Unit
	if unit == "" {
		unit = ch.Unit
	}
	if !s.validUnit(unit) {
		return chat.Errorf(chat.EUnknownUnit, "unknown unit %q", unit)
	}
	if unit == ch.Unit && (f.AgentID == "" || f.AgentID == ch.AgentID) {
		return chat.Errorf(chat.EInvalid, "transfer needs another unit or another agent")
	}
	as, err := s.assign.Transfer(ctx, ch.ID, unit, f.AgentID)
	switch {
	case errors.Is(err, assign.ErrAgentFull):
		return chat.Errorf(chat.EAgentFull, "that agent has no free slot")
	case errors.Is(err, assign.ErrAgentUnavailable):
		return chat.Errorf(chat.EAgentAway, "that agent is not online in unit %s", unit)
	case errors.Is(err, assign.ErrNotFound):
		return chat.Errorf(chat.ENotFound, "chat is not live")
	case err != nil:
		return err
	}
	// The chat row is written once: straight to its new agent when the
	// transfer gave it one at once, else back to the queue.
	now, rest := takeAssignment(as, ch.ID)
	t := chat.Transition{Who: c.who, ClientID: f.ClientID, ChatID: ch.ID, From: chat.OpenStates, To: chat.StatusQueued, Unit: unit,
		Records: transferRecords(c.who, ch, unit, f.AgentID, now)}
	var moved *chat.Chat
	var v *chat.Visitor
	var outcome chat.Outcome
	if now != nil {
		t.To, t.AgentID = chat.StatusActive, &now.AgentID
		moved, v, outcome, err = s.store.Assign(ctx, t)
	} else {
		none := ""
		t.AgentID = &none
		moved, outcome, err = s.store.Transit(ctx, t)
	}
	if err != nil {
		return err
	}
	if outcome == chat.Refused {
		return chat.Finished(moved.Status)
	}
	s.ack(c, f, ackFrame{ChatID: ch.ID})
	var p *assign.Presence
	if now != nil {
		p = &assign.Presence{Online: now.VisitorOnline, LeftAt: now.VisitorLeftAt}
	}
	s.announceTransfer(ctx, ch, moved, v, p, f.AgentID)
	s.apply(ctx, rest)
	s.queueChanged(ctx, ch.Unit)
	s.queueChanged(ctx, unit)
	return nil
}

// transferRecords says why a staff transfer moved a chat: who moved it
// where, and, when it went to an agent at once, the rule and the
// candidates of that choice.
func transferRecords(who chat.Principal, ch *chat.Chat, unit, named string, now *assign.Assignment) []chat.AssignmentRecord {
	tr := chat.AssignmentRecord{Kind: chat.RecordTransferred, Unit: unit, FromAgentID: ch.AgentID, Rule: "transfer",
		ByKind: who.Kind(), ByID: who.ID(), Candidates: []chat.Candidate{}}
	if named != "" {
		tr.Rule = assign.RuleNamedAgent
	}
	if now == nil {
		return []chat.AssignmentRecord{tr}
	}
	tr.AgentID = now.AgentID
	if named != "" {
		tr.Candidates = candidates(now.Candidates)
		return []chat.AssignmentRecord{tr}
	}
	return []chat.AssignmentRecord{tr, {Kind: chat.RecordAssigned, Unit: unit, AgentID: now.AgentID, FromAgentID: ch.AgentID,
		Rule: now.Rule, WaitedMS: now.Waited.Milliseconds(), Candidates: candidates(now.Candidates)}}
}

// takeAssignment finds chatID's own assignment among as and returns it
// apart from the others.
func takeAssignment(as []assign.Assignment, chatID string) (*assign.Assignment, []assign.Assignment) {
	for i, a := range as {
		if a.ChatID == chatID && a.AgentID != "" {
			rest := append(as[:i:i], as[i+1:]...)
			return &a, rest
		}
	}
	return nil, as
}

// announceTransfer tells both sides a chat moved, the old agent's
// connections to stop following it, and, when it went straight to an
// agent, that agent's connections to start.
func (s *Service) announceTransfer(ctx context.Context, before, after *chat.Chat, v *chat.Visitor, p *assign.Presence, named string) {
	tf := transferredFrame{Type: TTransferred, ChatID: after.ID, Unit: after.Unit, Reason: "transfer"}
	if before.AgentID != "" {
		r := s.agentRef(ctx, before.AgentID)
		tf.FromAgent = &r
	}
	if named != "" {
		r := s.agentRef(ctx, named)
		tf.Agent = &r
	}
	msgs := []published{{s.hub.chatChannel(after.ID), &envelope{Kind: evFrame, Chat: after.ID, Unit: after.Unit, Frame: encode(tf)}}}
	if before.AgentID != "" {
		msgs = append(msgs, published{s.hub.agentChannel(before.AgentID), &envelope{Kind: evLeave, Chat: after.ID}})
	}
	if after.Status == chat.StatusActive {
		msgs = append(msgs, s.assignedEnvelopes(ctx, after, v, p)...)
	}
	if err := s.hub.publishMany(ctx, msgs); err != nil {
		s.log.Error("publish transfer", "chat", after.ID, "err", err)
	}
}

// escalate serves chat.escalate: the ack goes out once the ticket is
// stored and before chat.escalated is published, so the sender's socket
// gets the ack first and then chat.escalated, as with chat.close.
func (s *Service) escalate(ctx context.Context, c *conn, f *inFrame) error {
	_, err := s.escalateChat(ctx, c.who, f.ChatID, f.ClientID, f.Subject, func(ch *chat.Chat) {
		s.ack(c, f, ackFrame{ChatID: ch.ID, TicketID: ch.TicketID})
	})
	return err
}

// Escalate closes an open chat into a ticket holding its transcript and
// tells everyone following it. It serves the chat.escalate frame and the
// REST escalation; clientID (optional) makes a resend return the first
// answer.
func (s *Service) Escalate(ctx context.Context, who chat.Principal, chatID, clientID, subject string) (*chat.Chat, error) {
	return s.escalateChat(ctx, who, chatID, clientID, subject, nil)
}

// escalateChat is Escalate; stored, when not nil, runs once the ticket is
// stored (or found stored, for a resend) and before anyone is told.
func (s *Service) escalateChat(ctx context.Context, who chat.Principal, chatID, clientID, subject string, stored func(*chat.Chat)) (*chat.Chat, error) {
	subject = strings.TrimSpace(subject)
	if len(subject) > 200 {
		return nil, chat.Errorf(chat.EInvalid, "subject is longer than 200 bytes")
	}
	ch, err := s.chatFor(ctx, who, chatID, access.EscalateChat)
	if err != nil {
		return nil, err
	}
	done, outcome, err := s.escalator.Escalate(ctx, chat.Escalation{Who: who, ClientID: clientID, ChatID: ch.ID, Subject: subject, By: who.Sender()})
	if err != nil {
		return nil, err
	}
	if outcome == chat.Refused {
		return nil, chat.Finished(done.Status)
	}
	if stored != nil {
		stored(done)
	}
	if outcome == chat.Applied {
		s.ended(ctx, done, encode(escalatedFrame{Type: TEscalated, ChatID: done.ID, TicketID: done.TicketID}))
	}
	return done, nil
}
