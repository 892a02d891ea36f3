package live

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/assign"
	"github.com/chatd/chatd/chat"
)

// Envelope kinds carried over Redis pub/sub between nodes.
const (
	evFrame = "f" // forward Frame to the channel's connections
	evJoin  = "j" // the connections of this visitor/agent join Chat
	evLeave = "l" // ... leave Chat (after forwarding Frame, if any)
	evQueue = "q" // the unit's queue changed: recompute positions
	evKick  = "k" // the agent's sessions ended (account disabled): close its sockets
)

// envelope is what travels on a channel: a small JSON header, a newline,
// then the frame exactly as clients get it, encoded once by the publisher.
type envelope struct {
	Kind  string `json:"k"`
	Chat  string `json:"c,omitempty"`
	Seq   int64  `json:"s,omitempty"`  // message seq: ordered and gap-filled per connection
	Note  int64  `json:"n,omitempty"`  // note seq: the same, for staff
	Staff bool   `json:"st,omitempty"` // visitors never get it
	Unit  string `json:"u,omitempty"`  // evQueue: the unit; on a chat's channel: the chat's unit from this frame on (chat.transferred)
	Skip  string `json:"x,omitempty"`  // not for this principal's own connections (typing, read)
	Agent string `json:"a,omitempty"`  // chat.assigned: to whom, so a connection announces it once
	// First is a new chat's first message, on the join envelopes chat.start
	// sends: a tab joining while it is still the only one need not read it
	// back from the store.
	First *messageFrame `json:"m,omitempty"`
	// On the join envelope of an assignment: the chat as the assignment
	// left it (with its last note seq, which its JSON leaves out) and its
	// visitor, so the agent's connections need not read them back.
	Assigned *chat.Chat    `json:"ch,omitempty"`
	LastNote int64         `json:"ln,omitempty"`
	Visitor  *chat.Visitor `json:"v,omitempty"`
	// Presence is the visitor's, as the assignment saw it.
	Presence *assign.Presence `json:"p,omitempty"`
	Frame    []byte           `json:"-"`
}

func (e *envelope) marshal() []byte {
	h, _ := json.Marshal(e)
	return append(append(h, '\n'), e.Frame...)
}

func unmarshalEnvelope(b []byte) (*envelope, error) {
	h, frame, _ := bytes.Cut(b, []byte{'\n'})
	e := &envelope{}
	if err := json.Unmarshal(h, e); err != nil {
		return nil, err
	}
	if len(frame) > 0 {
		e.Frame = frame
	}
	return e, nil
}

// Hub is this node's share of the fan-out: it holds one Redis pub/sub
// connection, subscribes a channel while any local connection needs it, and
// hands each envelope to those connections without ever blocking on them.
type Hub struct {
	rdb    redis.UniversalClient
	prefix string
	log    *slog.Logger
	ps     *redis.PubSub

	mu    sync.Mutex
	subs  map[string]*channelSubs
	conns map[*conn]struct{}

	// onUnit handles envelopes on unit channels (queue changes).
	onUnit func(unit string, e *envelope)
	// onResume runs when the pub/sub connection is back after a failure:
	// what was published meanwhile never arrived.
	onResume func()
}

type channelSubs struct {
	conns  map[*conn]struct{}
	pinned bool          // the node itself listens (unit channels)
	ready  chan struct{} // closed when Redis confirms the subscription
}

func newHub(rdb redis.UniversalClient, prefix string, log *slog.Logger) *Hub {
	return &Hub{rdb: rdb, prefix: prefix, log: log, subs: map[string]*channelSubs{}, conns: map[*conn]struct{}{},
		ps: rdb.Subscribe(context.Background())}
}

func (h *Hub) chatChannel(id string) string    { return h.prefix + "c:" + id }
func (h *Hub) agentChannel(id string) string   { return h.prefix + "a:" + id }
func (h *Hub) visitorChannel(id string) string { return h.prefix + "v:" + id }
func (h *Hub) unitChannel(u string) string     { return h.prefix + "u:" + u }

// run receives from Redis until ctx ends. It returns when the pub/sub
// connection is closed.
func (h *Hub) run(ctx context.Context) {
	broken := false
	for {
		msg, err := h.ps.Receive(ctx)
		if err == nil && broken {
			// go-redis has reconnected and subscribed every channel again.
			broken = false
			h.log.Info("pubsub connection restored")
			if h.onResume != nil {
				go h.onResume()
			}
		}
		if err != nil {
			if ctx.Err() != nil || err == redis.ErrClosed {
				return
			}
			broken = true
			h.log.Warn("pubsub receive", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				h.confirm(m.Channel)
			}
		case *redis.Message:
			h.dispatch(m.Channel, []byte(m.Payload))
		}
	}
}

func (h *Hub) confirm(ch string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.subs[ch]; s != nil {
		select {
		case <-s.ready:
		default:
			close(s.ready)
		}
	}
}

func (h *Hub) dispatch(ch string, payload []byte) {
	e, err := unmarshalEnvelope(payload)
	if err != nil {
		h.log.Warn("bad envelope", "channel", ch, "err", err)
		return
	}
	if unit, ok := strings.CutPrefix(ch, h.prefix+"u:"); ok && h.onUnit != nil && e.Kind == evQueue {
		h.onUnit(unit, e)
		return
	}
	h.mu.Lock()
	s := h.subs[ch]
	var targets []*conn
	if s != nil {
		targets = make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			targets = append(targets, c)
		}
	}
	h.mu.Unlock()
	for _, c := range targets {
		c.deliver(e)
	}
}

// subscribe adds c (nil: the node itself) to channel ch and waits until
// Redis confirms the subscription, so nothing published afterwards is missed.
func (h *Hub) subscribe(ctx context.Context, ch string, c *conn) error {
	h.mu.Lock()
	s := h.subs[ch]
	first := s == nil
	if first {
		s = &channelSubs{conns: map[*conn]struct{}{}, ready: make(chan struct{})}
		h.subs[ch] = s
	}
	if c == nil {
		s.pinned = true
	} else {
		s.conns[c] = struct{}{}
		c.channels[ch] = struct{}{}
	}
	ready := s.ready
	h.mu.Unlock()
	if first {
		if err := h.ps.Subscribe(ctx, ch); err != nil {
			return fmt.Errorf("subscribe %s: %w", ch, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("subscribe %s: not confirmed: %w", ch, ctx.Err())
	}
}

// unsubscribe removes c from ch, and the node from Redis's channel when no
// local connection needs it any more.
func (h *Hub) unsubscribe(ch string, c *conn) {
	h.mu.Lock()
	s := h.subs[ch]
	if s == nil {
		h.mu.Unlock()
		return
	}
	delete(s.conns, c)
	delete(c.channels, ch)
	last := len(s.conns) == 0 && !s.pinned
	if last {
		delete(h.subs, ch)
	}
	h.mu.Unlock()
	if last {
		if err := h.ps.Unsubscribe(context.Background(), ch); err != nil {
			h.log.Debug("unsubscribe", "channel", ch, "err", err)
		}
	}
}

// local returns this node's connections subscribed to ch.
func (h *Hub) local(ch string) []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.subs[ch]
	if s == nil {
		return nil
	}
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// publish sends e on ch to every node.
func (h *Hub) publish(ctx context.Context, ch string, e *envelope) error {
	if err := h.rdb.Publish(ctx, ch, e.marshal()).Err(); err != nil {
		return fmt.Errorf("publish %s: %w", ch, err)
	}
	return nil
}

// publishMany sends several envelopes in one round trip.
func (h *Hub) publishMany(ctx context.Context, msgs []published) error {
	if len(msgs) == 0 {
		return nil
	}
	if len(msgs) == 1 {
		return h.publish(ctx, msgs[0].ch, msgs[0].e)
	}
	_, err := h.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, m := range msgs {
			p.Publish(ctx, m.ch, m.e.marshal())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

type published struct {
	ch string
	e  *envelope
}

func (h *Hub) add(c *conn) {
	h.mu.Lock()
	h.conns[c] = struct{}{}
	h.mu.Unlock()
}

// remove forgets a closed connection and every subscription it held.
func (h *Hub) remove(c *conn) {
	h.mu.Lock()
	delete(h.conns, c)
	chans := make([]string, 0, len(c.channels))
	for ch := range c.channels {
		chans = append(chans, ch)
	}
	h.mu.Unlock()
	for _, ch := range chans {
		h.unsubscribe(ch, c)
	}
}

// all returns every live connection of this node.
func (h *Hub) all() []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		out = append(out, c)
	}
	return out
}

func (h *Hub) close() error { return h.ps.Close() }
