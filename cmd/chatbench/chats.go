package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Sides of a chat.
const (
	sideVisitor = 0
	sideAgent   = 1
)

// pair is one chat: its visitor's socket and the agent socket serving it.
type pair struct {
	idx    int
	unit   string
	chatID string
	vToken string
	vNode  int

	visitor   *Conn // replaced on reconnect, by the scenario's goroutine only
	visitorUp atomic.Bool
	agent     *agentConn // set once the chat is assigned

	startAt    time.Time    // when chat.start was sent
	assignedAt atomic.Int64 // unix ns of the visitor's first chat.assigned
	vAssigned  atomic.Int32 // chat.assigned frames the visitor got
	maxSeq     atomic.Int64 // highest seq acked to either side
	track      [2]seqTrack  // what each side has seen of the chat's messages
}

func (p *pair) noteAck(seq int64) {
	for {
		cur := p.maxSeq.Load()
		if seq <= cur || p.maxSeq.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// agentConn is one agent's socket and the chats it serves.
type agentConn struct {
	acct  *agentAccount // nil on the relay
	id    string
	node  int
	conn  *Conn
	chats []*pair
	up    atomic.Bool // connected (for the reconnect storm)
}

// seqTrack checks that one side sees a chat's messages once each, in
// order, as the server promises: it keeps which seqs arrived, so a repeat
// is a duplicate, an earlier seq after a later one is a reordering, and a
// seq never seen is missing.
type seqTrack struct {
	mu        sync.Mutex
	seen      []uint64 // bit s: seq s arrived
	last      int64    // every seq up to last has arrived
	top       int64    // highest seq arrived
	dups      int64
	reordered int64
}

func (t *seqTrack) has(seq int64) bool {
	w := int(seq / 64)
	return w < len(t.seen) && t.seen[w]&(1<<(seq%64)) != 0
}

func (t *seqTrack) mark(seq int64) {
	w := int(seq / 64)
	for len(t.seen) <= w {
		t.seen = append(t.seen, 0)
	}
	t.seen[w] |= 1 << (seq % 64)
	for t.has(t.last + 1) {
		t.last++
	}
	t.top = max(t.top, seq)
}

func (t *seqTrack) note(seq int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case seq < 1:
	case t.has(seq):
		t.dups++
	default:
		if seq < t.top {
			t.reordered++
		}
		t.mark(seq)
	}
}

// base marks 1..seq as seen: what a side got as history, not as messages.
func (t *seqTrack) base(seq int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for s := int64(1); s <= seq; s++ {
		if !t.has(s) {
			t.mark(s)
		}
	}
}

// get returns the last seq up to which nothing is missing, and the counts.
func (t *seqTrack) get() (last, dups, reordered int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last, t.dups, t.reordered
}

// missing counts the seqs up to want that never arrived.
func (t *seqTrack) missing(want int64) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := int64(0)
	for s := t.last + 1; s <= want; s++ {
		if !t.has(s) {
			n++
		}
	}
	return n
}

// assignBook records every chat.assigned the agents receive, to check
// that each chat went to exactly one agent and no agent past its slots.
type assignBook struct {
	mu       sync.Mutex
	count    map[string]int
	agentOf  map[string]*agentConn
	lastSeq  map[string]int64
	unitOf   map[string]string
	perAgent map[*agentConn]map[string]bool
}

func (b *assignBook) assigned(ac *agentConn, f *Frame) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.count == nil {
		b.count, b.agentOf, b.lastSeq = map[string]int{}, map[string]*agentConn{}, map[string]int64{}
		b.unitOf, b.perAgent = map[string]string{}, map[*agentConn]map[string]bool{}
	}
	b.count[f.ChatID]++
	b.agentOf[f.ChatID] = ac
	b.lastSeq[f.ChatID] = f.LastSeq
	b.unitOf[f.ChatID] = f.Unit
	if b.perAgent[ac] == nil {
		b.perAgent[ac] = map[string]bool{}
	}
	b.perAgent[ac][f.ChatID] = true
}

// chatSet is the chats of one scenario run against one target.
type chatSet struct {
	b      *bench
	target string // "chatd" or "relay"
	pairs  []*pair
	agents []*agentConn
	byChat sync.Map // chat id -> *pair
	book   assignBook
	load   atomic.Pointer[loadState]
	errs   counter // error frames outside a load run
}

func (s *chatSet) relay() bool { return s.target == targetRelay }

const (
	targetChatd = "chatd"
	targetRelay = "relay"
)

func (s *chatSet) visitorHandler(p *pair) Handler {
	return func(c *Conn, f *Frame, at time.Time) {
		switch f.Type {
		case "message":
			if f.Seq > 0 {
				p.track[sideVisitor].note(f.Seq)
			}
		case "chat.assigned":
			if p.vAssigned.Add(1) == 1 {
				p.assignedAt.Store(at.UnixNano())
			}
		}
		s.common(sideVisitor, f, at)
	}
}

func (s *chatSet) agentHandler(ac *agentConn) Handler {
	return func(c *Conn, f *Frame, at time.Time) {
		switch f.Type {
		case "message":
			if f.Seq > 0 {
				if v, ok := s.byChat.Load(f.ChatID); ok {
					v.(*pair).track[sideAgent].note(f.Seq)
				}
			}
		case "chat.assigned":
			s.book.assigned(ac, f)
		}
		s.common(sideAgent, f, at)
	}
}

// common is what both sides' handlers do: feed the running load with
// messages and acks, and count errors.
func (s *chatSet) common(side int, f *Frame, at time.Time) {
	switch f.Type {
	case "message":
		if ls := s.load.Load(); ls != nil {
			ls.onMessage(side, f, at)
		}
	case "ack":
		if ls := s.load.Load(); ls != nil {
			ls.acked.Add(1)
		}
	case "error":
		s.onError(f)
	}
}

func (s *chatSet) onError(f *Frame) {
	if ls := s.load.Load(); ls != nil {
		ls.errors.add(f.Code)
		return
	}
	s.errs.add(f.Code)
}

// setupChats makes n chats on a target: agents connect and go online,
// visitors sign up and connect, then every visitor starts a chat, the
// starts spread evenly over window, and it waits until each chat is
// assigned on both sides. On the relay a chat is just a visitor socket
// routed to an agent socket.
func setupChats(ctx context.Context, b *bench, target string, n int, window time.Duration) (*chatSet, error) {
	s := &chatSet{b: b, target: target}
	if target == targetRelay {
		return s, s.setupRelay(ctx, n)
	}
	if err := s.connectAgents(ctx, b.staff.take(agentsPerUnit(n, len(b.units), b.cfg.MaxChats))); err != nil {
		return s, err
	}
	if err := s.connectVisitors(ctx, n); err != nil {
		return s, err
	}
	if err := s.startChats(ctx, window); err != nil {
		return s, err
	}
	return s, s.awaitAssigned(ctx)
}

func (s *chatSet) setupRelay(ctx context.Context, n int) error {
	agents := (n + s.b.cfg.MaxChats - 1) / s.b.cfg.MaxChats
	s.agents = make([]*agentConn, agents)
	for i := range s.agents {
		s.agents[i] = &agentConn{id: "a" + strconv.Itoa(i)}
	}
	s.pairs = make([]*pair, n)
	for i := range s.pairs {
		ac := s.agents[i%agents]
		p := &pair{idx: i, chatID: "c" + strconv.Itoa(i), agent: ac}
		ac.chats = append(ac.chats, p)
		s.pairs[i] = p
		s.byChat.Store(p.chatID, p)
	}
	base := s.b.relay.URL
	err := parallel(ctx, agents, 32, func(ctx context.Context, i int) error {
		ac := s.agents[i]
		c, _, err := Dial(ctx, wsURL(base, "/agent?id="+ac.id), s.agentHandler(ac), false)
		ac.conn = c
		return err
	})
	if err != nil {
		return err
	}
	return parallel(ctx, n, 64, func(ctx context.Context, i int) error {
		p := s.pairs[i]
		c, _, err := Dial(ctx, wsURL(base, "/visitor?chat="+p.chatID+"&agent="+p.agent.id), s.visitorHandler(p), false)
		p.visitor = c
		return err
	})
}

func (s *chatSet) connectAgents(ctx context.Context, accts []*agentAccount) error {
	s.agents = make([]*agentConn, len(accts))
	for i, a := range accts {
		s.agents[i] = &agentConn{acct: a, id: a.ID, node: i % len(s.b.nodes)}
	}
	var up atomic.Int64
	stop := s.b.progress("agents", func() string { return fmt.Sprintf("%d/%d agent sockets online", up.Load(), len(accts)) })
	defer stop()
	return parallel(ctx, len(s.agents), 16, func(ctx context.Context, i int) error {
		ac := s.agents[i]
		if err := s.dialAgent(ctx, ac, ac.node); err != nil {
			return err
		}
		if _, err := ac.conn.Call(ctx, map[string]any{"type": "presence", "status": "online"}); err != nil {
			return fmt.Errorf("agent %s: %w", ac.acct.Email, err)
		}
		up.Add(1)
		return nil
	})
}

func (s *chatSet) dialAgent(ctx context.Context, ac *agentConn, node int) error {
	c, hello, err := Dial(ctx, wsURL(s.b.nodes[node].base, "/ws/agent?token="+ac.acct.Token), s.agentHandler(ac), true)
	if err != nil {
		return fmt.Errorf("agent socket: %w", err)
	}
	ac.conn, ac.node = c, node
	ac.up.Store(true)
	_ = hello
	return nil
}

func (s *chatSet) connectVisitors(ctx context.Context, n int) error {
	s.pairs = make([]*pair, n)
	for i := range s.pairs {
		s.pairs[i] = &pair{idx: i, unit: s.b.units[i%len(s.b.units)], vNode: i % len(s.b.nodes)}
	}
	var up atomic.Int64
	stop := s.b.progress("visitors", func() string { return fmt.Sprintf("%d/%d visitor sockets open", up.Load(), n) })
	defer stop()
	return parallel(ctx, n, 32, func(ctx context.Context, i int) error {
		p := s.pairs[i]
		node := s.b.nodes[p.vNode]
		_, tok, err := node.createVisitor(ctx)
		if err != nil {
			return fmt.Errorf("create visitor: %w", err)
		}
		p.vToken = tok
		c, _, err := Dial(ctx, wsURL(node.base, "/ws/visitor?token="+tok), s.visitorHandler(p), true)
		if err != nil {
			return fmt.Errorf("visitor socket: %w", err)
		}
		p.visitor = c
		p.visitorUp.Store(true)
		up.Add(1)
		return nil
	})
}

// startChats sends every visitor's chat.start, spread evenly over window,
// without waiting for one ack before the next start.
func (s *chatSet) startChats(ctx context.Context, window time.Duration) error {
	n := len(s.pairs)
	s.b.logf("%s: starting %d chats over %v", s.target, n, window)
	var wg sync.WaitGroup
	var failed atomic.Int64
	var firstErr atomic.Value
	t0 := time.Now()
	for i, p := range s.pairs {
		at := t0.Add(time.Duration(int64(window) * int64(i) / int64(n)))
		if d := time.Until(at); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.startAt = time.Now()
			ack, err := p.visitor.Call(ctx, map[string]any{"type": "chat.start", "unit": p.unit,
				"text": fmt.Sprintf("benchmark chat %d", p.idx), "age_confirmed": true})
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				return
			}
			p.chatID = ack.ChatID
			s.byChat.Store(p.chatID, p)
		}()
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d chat.start failed, first: %v", n, firstErr.Load())
	}
	return nil
}

// awaitAssigned waits until every chat has been assigned on both sides,
// then links each chat to its agent's socket.
func (s *chatSet) awaitAssigned(ctx context.Context) error {
	deadline := time.Now().Add(30*time.Second + time.Duration(len(s.pairs))*5*time.Millisecond)
	done := func() (v, a int) {
		for _, p := range s.pairs {
			if p.vAssigned.Load() > 0 {
				v++
			}
		}
		s.book.mu.Lock()
		for _, p := range s.pairs {
			if s.book.agentOf[p.chatID] != nil {
				a++
			}
		}
		s.book.mu.Unlock()
		return v, a
	}
	stop := s.b.progress("assign", func() string {
		v, a := done()
		return fmt.Sprintf("%d/%d chats assigned (visitor side), %d (agent side)", v, len(s.pairs), a)
	})
	defer stop()
	for {
		v, a := done()
		if v == len(s.pairs) && a == len(s.pairs) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d chats assigned (visitor side), %d (agent side)", v, len(s.pairs), a)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	s.book.mu.Lock()
	defer s.book.mu.Unlock()
	for _, p := range s.pairs {
		ac := s.book.agentOf[p.chatID]
		p.agent = ac
		ac.chats = append(ac.chats, p)
		p.track[sideAgent].base(s.book.lastSeq[p.chatID])
	}
	return nil
}

// teardown closes every chat (so the agents' slots are free for the next
// scenario), takes the agents offline and closes every socket.
func (s *chatSet) teardown(ctx context.Context) {
	s.load.Store(nil)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	if !s.relay() {
		var failed atomic.Int64
		_ = parallel(ctx, len(s.pairs), 32, func(ctx context.Context, i int) error {
			p := s.pairs[i]
			if p.chatID != "" && p.visitor != nil {
				if _, err := p.visitor.Call(ctx, map[string]any{"type": "chat.close", "chat_id": p.chatID}); err != nil {
					failed.Add(1)
				}
			}
			return nil
		})
		_ = parallel(ctx, len(s.agents), 16, func(ctx context.Context, i int) error {
			if c := s.agents[i].conn; c != nil {
				if _, err := c.Call(ctx, map[string]any{"type": "presence", "status": "offline"}); err != nil {
					failed.Add(1)
				}
			}
			return nil
		})
		if n := failed.Load(); n > 0 {
			s.b.logf("%s: teardown: %d close/offline calls failed", s.target, n)
		}
	}
	closeAll(ctx, s.conns())
}

func (s *chatSet) conns() []*Conn {
	var out []*Conn
	for _, p := range s.pairs {
		if p.visitor != nil {
			out = append(out, p.visitor)
		}
	}
	for _, ac := range s.agents {
		if ac.conn != nil {
			out = append(out, ac.conn)
		}
	}
	return out
}

// closeAll closes sockets, many at a time.
func closeAll(ctx context.Context, conns []*Conn) {
	_ = parallel(ctx, len(conns), 256, func(ctx context.Context, i int) error {
		conns[i].CloseNow()
		return nil
	})
}
