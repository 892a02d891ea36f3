package chat

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"
)

// principal is who is on the other end of a connection.
type principal struct {
	visitorID string
	agent     *Agent
}

func (p principal) key() string {
	if p.agent != nil {
		return "a:" + p.agent.ID
	}
	return "v:" + p.visitorID
}

func (p principal) sender() Sender {
	if p.agent != nil {
		return Sender{Kind: FromAgent, ID: p.agent.ID, Name: p.agent.Name}
	}
	return Sender{Kind: FromVisitor, ID: p.visitorID}
}

// item is one thing for a connection's writer: an envelope from the hub, a
// frame for this connection only, or a resume request.
type item struct {
	env    *envelope
	raw    []byte
	resume *inFrame
	attach []*Chat // chats to follow from the start, held for resume
}

// chatState is what a connection has delivered of one chat; only the
// writer goroutine touches it.
type chatState struct {
	lastSeq, lastNote int64
	// A chat followed since the connection opened holds its live messages
	// until the client's resume (or the resume window) so the replay and
	// the live stream arrive in order and once.
	paused bool
	held   []*envelope
}

// conn is one WebSocket. Two goroutines serve it: the reader (the
// handler's own goroutine) handles client frames in order; the writer
// drains the outbox. Both end when the socket closes or the node shuts down;
// close is idempotent.
type conn struct {
	svc     *Service
	ws      *websocket.Conn
	who     principal
	ip      string
	out     outbox
	done    chan struct{}
	once    sync.Once
	limiter *rate.Limiter
	log     *slog.Logger

	visitorName string
	channels    map[string]struct{} // guarded by the hub's mutex

	chats map[string]*chatState // writer only

	allowMu sync.Mutex
	allowed map[string]bool // chats this connection follows, for typing and read
}

func (c *conn) allow(chatID string) {
	c.allowMu.Lock()
	c.allowed[chatID] = true
	c.allowMu.Unlock()
}

func (c *conn) follows(chatID string) bool {
	c.allowMu.Lock()
	defer c.allowMu.Unlock()
	return c.allowed[chatID]
}

func (c *conn) isStaff() bool { return c.who.agent != nil }

// deliver queues an envelope without blocking; a connection that cannot
// keep up is cut off rather than slowing the relay.
func (c *conn) deliver(e *envelope) { c.enqueue(item{env: e}) }

func (c *conn) enqueue(it item) {
	if !c.out.push(it) {
		c.svc.metrics.slowClosed.Inc()
		go c.close(websocket.StatusTryAgainLater, "slow consumer: send queue full")
	}
}

// outbox is a connection's queue of frames to write. Unlike a buffered
// channel it holds memory only for what is waiting, which keeps an idle
// connection small; past max items the connection is too slow and is cut.
type outbox struct {
	mu     sync.Mutex
	items  []item
	max    int
	notify chan struct{} // one pending wake-up for the writer
}

func newOutbox(max int) outbox { return outbox{max: max, notify: make(chan struct{}, 1)} }

func (o *outbox) push(it item) bool {
	o.mu.Lock()
	if len(o.items) >= o.max {
		o.mu.Unlock()
		return false
	}
	o.items = append(o.items, it)
	o.mu.Unlock()
	select {
	case o.notify <- struct{}{}:
	default:
	}
	return true
}

// take returns everything waiting and empties the queue.
func (o *outbox) take() []item {
	o.mu.Lock()
	defer o.mu.Unlock()
	items := o.items
	o.items = nil
	return items
}

func (c *conn) reply(b []byte) { c.enqueue(item{raw: b}) }

func (c *conn) close(code websocket.StatusCode, reason string) {
	c.once.Do(func() {
		close(c.done)
		c.ws.Close(code, reason)
	})
}

// readLoop handles client frames until the socket fails or closes.
func (c *conn) readLoop(ctx context.Context) error {
	violations := 0
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			c.close(websocket.StatusUnsupportedData, "text frames only")
			return errors.New("binary frame")
		}
		if !utf8.Valid(data) {
			c.close(websocket.StatusInvalidFramePayloadData, "invalid UTF-8")
			return errors.New("invalid utf-8")
		}
		var f inFrame
		if err := json.Unmarshal(data, &f); err != nil {
			c.reply(errFrame(Errorf(EBadFrame, "frame is not a JSON object: %v", err), ""))
			continue
		}
		if !c.limiter.Allow() || !c.svc.ipAllow(c.ip) {
			c.svc.metrics.rateLimited.Inc()
			c.reply(errFrame(Errorf(ERateLimited, "too many frames; slow down"), f.ClientID))
			if violations++; violations > 200 {
				c.close(websocket.StatusPolicyViolation, "rate limit exceeded persistently")
				return errors.New("rate limited")
			}
			continue
		}
		violations = 0
		c.svc.handle(ctx, c, &f)
	}
}

// writeLoop writes queued items until the connection is done.
func (c *conn) writeLoop(ctx context.Context) {
	window := time.NewTimer(c.svc.cfg.ResumeWindow)
	defer window.Stop()
	ping := time.NewTicker(c.svc.cfg.PingEvery)
	defer ping.Stop()
	for {
		var err error
		select {
		case <-c.done:
			return
		case <-window.C:
			for id, st := range c.chats {
				if st.paused {
					if err = c.unpause(ctx, id, st); err != nil {
						break
					}
				}
			}
		case <-c.out.notify:
			for _, it := range c.out.take() {
				if err = c.process(ctx, it); err != nil {
					break
				}
			}
		case <-ping.C:
			go c.ping(ctx)
		}
		var werr *writeError
		if errors.As(err, &werr) {
			c.log.Debug("write", "err", err)
			c.close(websocket.StatusInternalError, "write failed")
			return
		} else if err != nil {
			c.log.Warn("prepare frames", "err", err)
		}
	}
}

// unpause delivers what a held chat received meanwhile.
func (c *conn) unpause(ctx context.Context, chatID string, st *chatState) error {
	st.paused = false
	held := st.held
	st.held = nil
	for _, e := range held {
		if err := c.ordered(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// attachChats follows chats the connection has from the start (a
// visitor's open chat, an agent's active chats), holding their live
// messages for the resume window.
func (c *conn) attachChats(ctx context.Context, chats []*Chat) error {
	for _, ch := range chats {
		if err := c.svc.hub.subscribe(ctx, c.svc.hub.chatChannel(ch.ID), c); err != nil {
			return err
		}
		c.chats[ch.ID] = &chatState{lastSeq: ch.LastSeq, lastNote: ch.LastNote, paused: true}
		c.allow(ch.ID)
	}
	return nil
}

// write sends one frame under its own timeout.
func (c *conn) write(ctx context.Context, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		return &writeError{err}
	}
	return nil
}

// writeError is a failed socket write: the connection is finished. Other
// errors while preparing frames (a store or Redis hiccup) are logged and
// the connection goes on.
type writeError struct{ err error }

func (e *writeError) Error() string { return "write: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

func (c *conn) process(ctx context.Context, it item) error {
	switch {
	case it.raw != nil:
		return c.write(ctx, it.raw)
	case it.resume != nil:
		return c.replay(ctx, it.resume.ChatID, it.resume.AfterSeq, it.resume.AfterNote)
	case it.attach != nil:
		return c.attachChats(ctx, it.attach)
	}
	e := it.env
	switch e.Kind {
	case evJoin:
		return c.join(ctx, e.Chat)
	case evLeave:
		if e.Frame != nil {
			if err := c.write(ctx, e.Frame); err != nil {
				return err
			}
		}
		c.leave(e.Chat)
		return nil
	}
	if e.Staff && !c.isStaff() {
		return nil
	}
	if e.Seq > 0 || e.Note > 0 {
		return c.ordered(ctx, e)
	}
	return c.write(ctx, e.Frame)
}

// ordered writes a message or note so that this connection sees every seq
// once, in order: older ones are dropped, and a gap (frames from two nodes
// can cross in Redis) is filled from the store first.
func (c *conn) ordered(ctx context.Context, e *envelope) error {
	st := c.chats[e.Chat]
	if st == nil {
		return nil
	}
	kind, last, seq := KindMessage, &st.lastSeq, e.Seq
	if e.Note > 0 {
		kind, last, seq = KindNote, &st.lastNote, e.Note
	}
	if st.paused {
		if len(st.held) < 4096 { // beyond that, the gap is filled from the store
			st.held = append(st.held, e)
		}
		return nil
	}
	if seq <= *last {
		return nil
	}
	if seq > *last+1 {
		missing, err := c.svc.store.Messages(ctx, e.Chat, kind, *last, int(seq-*last-1))
		if err != nil {
			return err
		}
		for _, m := range missing {
			if err := c.write(ctx, encode(newMessageFrame(m))); err != nil {
				return err
			}
			*last = m.Seq
		}
	}
	if err := c.write(ctx, e.Frame); err != nil {
		return err
	}
	*last = seq
	return nil
}

// join subscribes the connection to a chat and sends what it needs to
// start following it.
func (c *conn) join(ctx context.Context, chatID string) error {
	if err := c.svc.hub.subscribe(ctx, c.svc.hub.chatChannel(chatID), c); err != nil {
		return err
	}
	ch, err := c.svc.store.Chat(ctx, chatID)
	if err != nil {
		return err
	}
	if c.chats[chatID] == nil {
		c.chats[chatID] = &chatState{}
	}
	c.allow(chatID)
	if c.isStaff() {
		f, err := c.svc.assignedFrame(ctx, ch, true)
		if err != nil {
			return err
		}
		st := c.chats[chatID]
		st.lastSeq, st.lastNote = f.LastSeq, f.LastNote
		return c.write(ctx, encode(f))
	}
	// A visitor's tab: the chat's messages so far, then where it stands.
	if err := c.replay(ctx, chatID, 0, 0); err != nil {
		return err
	}
	return c.writeState(ctx, ch)
}

// writeState tells a visitor where their chat stands.
func (c *conn) writeState(ctx context.Context, ch *Chat) error {
	switch ch.Status {
	case StatusQueued:
		f, err := c.svc.queuedFrame(ctx, ch)
		if err != nil || f.Position == 0 { // 0: assigned meanwhile; chat.assigned follows
			return err
		}
		return c.write(ctx, encode(f))
	case StatusActive:
		f, err := c.svc.assignedFrame(ctx, ch, false)
		if err != nil {
			return err
		}
		return c.write(ctx, encode(f))
	}
	return nil
}

func (c *conn) leave(chatID string) {
	delete(c.chats, chatID)
	c.svc.hub.unsubscribe(c.svc.hub.chatChannel(chatID), c)
}

// replay sends every message (and, to staff, note) after the given seqs,
// and makes them the connection's position in the chat.
func (c *conn) replay(ctx context.Context, chatID string, afterSeq, afterNote int64) error {
	st := c.chats[chatID]
	if st == nil {
		if err := c.svc.hub.subscribe(ctx, c.svc.hub.chatChannel(chatID), c); err != nil {
			return err
		}
		st = &chatState{}
		c.chats[chatID] = st
	}
	st.lastSeq = afterSeq
	kinds := []string{KindMessage}
	if c.isStaff() {
		st.lastNote = afterNote
		kinds = append(kinds, KindNote)
	}
	for _, kind := range kinds {
		last := &st.lastSeq
		if kind == KindNote {
			last = &st.lastNote
		}
		for {
			msgs, err := c.svc.store.Messages(ctx, chatID, kind, *last, 500)
			if err != nil {
				return err
			}
			for _, m := range msgs {
				if err := c.write(ctx, encode(newMessageFrame(m))); err != nil {
					return err
				}
				*last = m.Seq
			}
			if len(msgs) < 500 {
				break
			}
		}
	}
	if st.paused {
		return c.unpause(ctx, chatID, st)
	}
	return nil
}

// ping checks that the peer still answers; one that does not within the
// timeout is disconnected.
func (c *conn) ping(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, c.svc.cfg.PingTimeout)
	defer cancel()
	if err := c.ws.Ping(ctx); err != nil {
		c.close(websocket.StatusPolicyViolation, "keepalive timeout")
	}
}
