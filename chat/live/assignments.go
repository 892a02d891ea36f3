package live

import (
	"bytes"
	"context"
	"math"
	"strconv"
	"time"

	"github.com/chatd/chatd/assign"
	"github.com/chatd/chatd/chat"
)

// apply makes the assigner's decisions durable and tells everyone: the
// chat row moves first, then the visitor and the agents hear of it.
func (s *Service) apply(ctx context.Context, as []assign.Assignment) {
	units := map[string]bool{}
	for _, a := range as {
		units[a.Unit] = true
		if a.AgentID == "" {
			s.requeued(ctx, a)
			continue
		}
		s.assigned(ctx, a)
	}
	for u := range units {
		s.queueChanged(ctx, u)
	}
}

// assigned records that a.ChatID is now a.AgentID's, writing the chat row
// once with the records of why, and tells both sides: the agent's
// connections get the chat and its visitor with the join.
func (s *Service) assigned(ctx context.Context, a assign.Assignment) {
	agentID := a.AgentID
	ch, v, outcome, err := s.store.Assign(ctx, chat.Transition{ChatID: a.ChatID, From: chat.OpenStates, To: chat.StatusActive, AgentID: &agentID, Unit: a.Unit,
		Records: records(a)})
	if err != nil {
		s.log.Error("record assignment", "chat", a.ChatID, "agent", a.AgentID, "err", err)
		return
	}
	if outcome == chat.Refused { // closed meanwhile: give the slot back
		more, err := s.assign.Release(ctx, a.ChatID)
		if err != nil {
			s.log.Error("release closed chat", "chat", a.ChatID, "err", err)
		}
		s.apply(ctx, more)
		return
	}
	wait := time.Duration(0)
	if ch.AssignedAt != nil {
		wait = ch.AssignedAt.Sub(ch.CreatedAt)
	}
	s.metrics.assigned.Observe(wait.Seconds())
	var msgs []published
	taken := a.From != "" && a.From != a.AgentID // from an agent gone or silent, straight to another
	if taken {
		from, ref := s.agentRef(ctx, a.From), s.agentRef(ctx, a.AgentID)
		tf := encode(transferredFrame{Type: TTransferred, ChatID: ch.ID, Unit: ch.Unit, FromAgent: &from, Agent: &ref, Reason: reasonOf(a)})
		// The new agent hears of it too, before its chat.assigned.
		// The old agent stops following the chat right after its
		// chat.transferred: the new agent's chat.assigned is not theirs.
		msgs = append(msgs, published{s.hub.chatChannel(ch.ID), &envelope{Kind: evFrame, Chat: ch.ID, Unit: ch.Unit, Frame: tf}},
			published{s.hub.agentChannel(a.From), &envelope{Kind: evLeave, Chat: ch.ID}},
			published{s.hub.agentChannel(a.AgentID), &envelope{Kind: evFrame, Frame: tf}})
	}
	p := assign.Presence{Online: a.VisitorOnline, LeftAt: a.VisitorLeftAt}
	msgs = append(msgs, s.assignedEnvelopes(ctx, ch, v, &p)...)
	if err := s.hub.publishMany(ctx, msgs); err != nil {
		s.log.Error("publish assignment", "chat", ch.ID, "err", err)
	}
}

// reasonOf says why a chat was taken from its agent.
func reasonOf(a assign.Assignment) string {
	if a.Reason != "" {
		return a.Reason
	}
	return assign.ReasonAgentUnavailable
}

// records says why the assigner moved a chat: taken from an agent (gone,
// or silent), then given to one or left waiting.
func records(a assign.Assignment) []chat.AssignmentRecord {
	var out []chat.AssignmentRecord
	waited := a.Waited.Milliseconds()
	if a.Requeued {
		out = append(out, chat.AssignmentRecord{Kind: chat.RecordRequeued, Unit: a.Unit, FromAgentID: a.From, Rule: reasonOf(a), Candidates: []chat.Candidate{}})
	}
	if a.AgentID != "" {
		out = append(out, chat.AssignmentRecord{Kind: chat.RecordAssigned, Unit: a.Unit, AgentID: a.AgentID, FromAgentID: a.From,
			Rule: a.Rule, WaitedMS: waited, Candidates: candidates(a.Candidates)})
	}
	return out
}

func candidates(cs []assign.Candidate) []chat.Candidate {
	out := make([]chat.Candidate, len(cs))
	for i, c := range cs {
		out[i] = chat.Candidate{AgentID: c.AgentID, Load: c.Load, Max: c.Max, Chosen: c.Chosen, Excluded: c.Excluded}
		if !c.FreeSince.IsZero() {
			t := c.FreeSince
			out[i].FreeSince = &t
		}
	}
	return out
}

// assignedEnvelopes announce an assignment: chat.assigned to the chat's
// followers, and the join to the agent's connections with the chat, its
// visitor and the visitor's presence (nil: read when joining).
func (s *Service) assignedEnvelopes(ctx context.Context, ch *chat.Chat, v *chat.Visitor, p *assign.Presence) []published {
	ref := s.agentRef(ctx, ch.AgentID)
	return []published{
		{s.hub.chatChannel(ch.ID), &envelope{Kind: evFrame, Chat: ch.ID, Agent: assignment(ch),
			Frame: encode(assignedFrame{Type: TAssigned, ChatID: ch.ID, Unit: ch.Unit, Agent: ref, LastSeq: ch.LastSeq})}},
		{s.hub.agentChannel(ch.AgentID), &envelope{Kind: evJoin, Chat: ch.ID, Assigned: ch, LastNote: ch.LastNote, Visitor: v, Presence: p}},
	}
}

// requeued records that a chat went back to its queue (its agent was gone
// past the grace period, or did not answer) and tells both sides: the
// agent that it is no longer theirs.
func (s *Service) requeued(ctx context.Context, a assign.Assignment) {
	none := ""
	ch, outcome, err := s.store.Transit(ctx, chat.Transition{ChatID: a.ChatID, From: chat.OpenStates, To: chat.StatusQueued, AgentID: &none, Unit: a.Unit,
		Records: records(a)})
	if err != nil || outcome == chat.Refused {
		if err != nil {
			s.log.Error("record requeue", "chat", a.ChatID, "err", err)
		}
		return
	}
	if a.From == "" {
		return
	}
	from := s.agentRef(ctx, a.From)
	f := encode(transferredFrame{Type: TTransferred, ChatID: ch.ID, Unit: ch.Unit, FromAgent: &from, Reason: reasonOf(a)})
	if err := s.hub.publishMany(ctx, []published{
		{s.hub.chatChannel(ch.ID), &envelope{Kind: evFrame, Chat: ch.ID, Unit: ch.Unit, Frame: f}},
		{s.hub.agentChannel(a.From), &envelope{Kind: evLeave, Chat: ch.ID}},
	}); err != nil {
		s.log.Error("publish requeue", "chat", ch.ID, "err", err)
	}
}

// agentRef names an agent for frames. Names are cached for a minute: they
// are read on every assignment and hardly ever change.
func (s *Service) agentRef(ctx context.Context, id string) agentRef {
	if v, ok := s.names.Load(id); ok {
		if n := v.(cachedName); time.Since(n.at) < time.Minute {
			return agentRef{ID: id, Name: n.name}
		}
	}
	a, err := s.store.Agent(ctx, id)
	if err != nil {
		return agentRef{ID: id}
	}
	s.names.Store(id, cachedName{a.Name, time.Now()})
	return agentRef{ID: a.ID, Name: a.Name}
}

type cachedName struct {
	name string
	at   time.Time
}

// queueChanged tells every node that a unit's queue moved.
func (s *Service) queueChanged(ctx context.Context, unit string) {
	if err := s.hub.publish(ctx, s.hub.unitChannel(unit), &envelope{Kind: evQueue, Unit: unit}); err != nil {
		s.log.Warn("publish queue change", "unit", unit, "err", err)
	}
}

// onQueueChanged runs on every node when a unit's queue moved; bursts are
// folded into one refresh a few milliseconds later.
func (s *Service) onQueueChanged(unit string, _ *envelope) {
	s.posMu.Lock()
	if s.refresh[unit] {
		s.posMu.Unlock()
		return
	}
	s.refresh[unit] = true
	s.posMu.Unlock()
	time.AfterFunc(20*time.Millisecond, func() {
		s.posMu.Lock()
		delete(s.refresh, unit)
		s.posMu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.refreshQueue(ctx, unit)
	})
}

// refreshQueue sends this node's waiting visitors their new positions and
// this node's agents of the unit the queue.
func (s *Service) refreshQueue(ctx context.Context, unit string) {
	q, err := s.assign.Queue(ctx, unit)
	if err != nil {
		s.log.Warn("queue", "unit", unit, "err", err)
		return
	}
	avail := -1 // asked only when a local visitor is to be told
	qf := queueFrame{Type: TQueue, Unit: unit, Chats: make([]queueItem, 0, len(q))}
	inQueue := make(map[string]bool, len(q))
	for _, w := range q {
		inQueue[w.ChatID] = true
		eta := etaSeconds(w.ETA)
		qf.Chats = append(qf.Chats, queueItem{ChatID: w.ChatID, Position: w.Position, ETASeconds: eta, Priority: w.Priority, Since: w.Since})
		conns := s.hub.local(s.hub.chatChannel(w.ChatID))
		if len(conns) == 0 {
			continue
		}
		s.posMu.Lock()
		now := queuePlace{unit, w.Position}
		changed := s.lastPos[w.ChatID] != now
		s.lastPos[w.ChatID] = now
		s.posMu.Unlock()
		if !changed {
			continue
		}
		if avail < 0 {
			if avail, err = s.assign.Available(ctx, unit); err != nil {
				s.log.Warn("available", "unit", unit, "err", err)
				return
			}
		}
		f := encode(queuedFrame{Type: TQueued, ChatID: w.ChatID, Unit: unit, Position: w.Position, ETASeconds: eta, Offline: avail == 0})
		for _, c := range conns {
			if !c.isStaff() {
				c.enqueue(item{place: &place{chatID: w.ChatID, unit: unit, position: w.Position, frame: f}})
			}
		}
	}
	s.posMu.Lock()
	for id, p := range s.lastPos {
		if p.unit == unit && !inQueue[id] {
			delete(s.lastPos, id)
		}
	}
	s.posMu.Unlock()
	frame := encode(qf)
	s.posMu.Lock()
	same := bytes.Equal(s.lastQueue[unit], frame)
	s.lastQueue[unit] = frame
	s.posMu.Unlock()
	if same { // agents already have it; one who just connected got it in greet
		return
	}
	for _, c := range s.hub.local(s.hub.unitChannel(unit)) {
		c.reply(frame)
	}
}

// queueSnapshot is the unit's queue frame this node sent last, if any.
func (s *Service) queueSnapshot(unit string) []byte {
	s.posMu.Lock()
	defer s.posMu.Unlock()
	return s.lastQueue[unit]
}

// queuedFrame says where a waiting chat stands now.
func (s *Service) queuedFrame(ctx context.Context, ch *chat.Chat) (queuedFrame, error) {
	unit, pos, eta, err := s.assign.Position(ctx, ch.ID)
	if err != nil || pos == 0 { // 0: assigned meanwhile
		return queuedFrame{Type: TQueued, ChatID: ch.ID, Unit: unit}, err
	}
	avail, err := s.assign.Available(ctx, unit)
	if err != nil {
		return queuedFrame{}, err
	}
	s.posMu.Lock()
	s.lastPos[ch.ID] = queuePlace{unit, pos}
	s.posMu.Unlock()
	return queuedFrame{Type: TQueued, ChatID: ch.ID, Unit: unit, Position: pos, ETASeconds: etaSeconds(eta), Offline: avail == 0}, nil
}

// assignedFrame describes an active chat; staff also get the visitor (read
// when v is nil), the chat and its history.
func (s *Service) assignedFrame(ctx context.Context, ch *chat.Chat, v *chat.Visitor, p *assign.Presence, staff bool) (assignedFrame, error) {
	f := assignedFrame{Type: TAssigned, ChatID: ch.ID, Unit: ch.Unit, LastSeq: ch.LastSeq}
	if ch.AgentID != "" {
		f.Agent = s.agentRef(ctx, ch.AgentID)
	}
	if !staff {
		return f, nil
	}
	if v == nil {
		var err error
		if v, err = s.store.Visitor(ctx, ch.VisitorID); err != nil {
			return f, err
		}
	}
	if p == nil {
		ps, err := s.assign.Visitors(ctx, ch.VisitorID)
		if err != nil {
			return f, err
		}
		p = &ps[0]
	}
	f.staffAssigned = &staffAssigned{Visitor: v, Chat: withPresence(ch, *p)}
	// Read after the connection subscribed: anything later arrives live.
	msgs, err := s.store.Messages(ctx, ch.ID, chat.KindMessage, 0, 0)
	if err != nil {
		return f, err
	}
	f.History = make([]messageFrame, len(msgs))
	for i, m := range msgs {
		f.History[i] = newMessageFrame(m)
	}
	if n := len(f.History); n > 0 {
		f.LastSeq = f.History[n-1].Seq
	}
	var notes []chat.Message
	if ch.LastNote > 0 {
		if notes, err = s.store.Messages(ctx, ch.ID, chat.KindNote, 0, 0); err != nil {
			return f, err
		}
	}
	f.Notes = make([]messageFrame, len(notes))
	for i, m := range notes {
		f.Notes[i] = newMessageFrame(m)
		f.LastNote = m.Seq
	}
	return f, nil
}

func etaSeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// queuePlace is where a waiting chat was last said to be.
type queuePlace struct {
	unit string
	pos  int
}

// assignment names one assignment of a chat (agent and moment), so a
// connection that hears of it twice announces it once, while the same agent
// taking the chat again later is news.
func assignment(ch *chat.Chat) string {
	if ch.AssignedAt == nil {
		return ch.AgentID
	}
	return ch.AgentID + "@" + strconv.FormatInt(ch.AssignedAt.UnixMilli(), 10)
}
