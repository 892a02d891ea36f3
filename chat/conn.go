package chat

import (
	"context"
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
	env     *envelope
	raw     []byte
	resume  *inFrame
	greet   bool // the connection opened: subscribe, send hello
	unpause bool // the resume window passed: release held chats
	resync  bool // the relay was cut: send what was stored meanwhile
	closing *closing
}

// closing closes the socket once the frames queued before it are written.
type closing struct {
	code   websocket.StatusCode
	reason string
}

// chatState is what a connection has delivered of one chat; only the
// writer goroutine touches it.
type chatState struct {
	lastSeq, lastNote int64
	// The connection has sent every seq in (base, lastSeq] and every note
	// in (baseNote, lastNote].
	base, baseNote int64
	announced      string // the assignment last announced in chat.assigned
	// A chat followed since the connection opened holds its live messages
	// until the client's resume (or the resume window) so the replay and
	// the live stream arrive in order and once.
	paused bool
	held   []*envelope
}

// conn is one WebSocket. Its reader goroutine handles client frames in
// order. Frames to send wait in the outbox; a writer goroutine runs only
// while there is something to write, so an idle connection costs one
// goroutine. The reader ends when the socket closes or Shutdown closes it;
// a writer ends when the outbox is empty or the connection is closed.
type conn struct {
	svc     *Service
	ws      *websocket.Conn
	who     principal
	ip      string
	out     outbox
	done    chan struct{}
	once    sync.Once
	limiter *rate.Limiter
	// life is the connection's lifetime, for the writers started on demand;
	// it ends when the connection is torn down.
	life    context.Context
	writers sync.WaitGroup
	timers  []*time.Timer // resume window and keepalive; stopped on close

	visitorName string
	channels    map[string]struct{} // guarded by the hub's mutex

	chats map[string]*chatState // writers only (one at a time)

	// Messages being committed: at most cap(inflight) at once; pending
	// lets other frames wait for them.
	inflight chan struct{}
	pending  sync.WaitGroup

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

// logger is made when needed: an idle connection keeps none.
func (c *conn) logger() *slog.Logger { return c.svc.log.With("who", c.who.key()) }

// deliver queues an envelope without blocking; a connection that cannot
// keep up is cut off rather than slowing the relay.
func (c *conn) deliver(e *envelope) { c.enqueue(item{env: e}) }

func (c *conn) enqueue(it item) {
	ok := c.out.push(it, func() {
		c.writers.Add(1)
		go c.drain()
	})
	if !ok {
		c.svc.metrics.slowClosed.Inc()
		go c.close(websocket.StatusTryAgainLater, "slow consumer: send queue full")
	}
}

// outbox is a connection's queue of frames to write. Unlike a buffered
// channel it holds memory only for what is waiting, which keeps an idle
// connection small; past max items the connection is too slow and is cut.
type outbox struct {
	mu      sync.Mutex
	items   []item
	max     int
	running bool // a writer is draining
	closed  bool
}

func newOutbox(max int) outbox { return outbox{max: max} }

// push queues it and, if no writer is running, calls start (under the lock,
// so a writer is never started after close). It reports false when full.
func (o *outbox) push(it item, start func()) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return true
	}
	if len(o.items) >= o.max {
		// Cut off once: the connection is closed and later frames are
		// dropped, so it is counted and closed a single time.
		o.closed, o.items = true, nil
		return false
	}
	o.items = append(o.items, it)
	if !o.running {
		o.running = true
		start()
	}
	return true
}

// next hands the writer everything waiting; with nothing left it marks the
// writer stopped and returns nil.
func (o *outbox) next() []item {
	o.mu.Lock()
	defer o.mu.Unlock()
	items := o.items
	o.items = nil
	if len(items) == 0 || o.closed {
		o.running = false
		return nil
	}
	return items
}

// close drops what is waiting and starts no more writers.
func (o *outbox) close() {
	o.mu.Lock()
	o.closed, o.items = true, nil
	o.mu.Unlock()
}

func (c *conn) reply(b []byte) { c.enqueue(item{raw: b}) }

func (c *conn) close(code websocket.StatusCode, reason string) {
	c.once.Do(func() {
		close(c.done)
		for _, t := range c.timers {
			t.Stop()
		}
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
		f, ferr := decodeFrame(data)
		if !c.limiter.Allow() || !c.svc.ipAllow(c.ip) {
			c.svc.metrics.rateLimited.Inc()
			c.reply(errFrame(Errorf(ERateLimited, "too many frames; slow down"), f.ClientID))
			if violations++; violations > 200 {
				// The errors already queued are written first.
				c.enqueue(item{closing: &closing{websocket.StatusPolicyViolation, "rate limit exceeded persistently"}})
				select {
				case <-c.done:
				case <-time.After(5 * time.Second):
				}
				return errors.New("rate limited")
			}
			continue
		}
		violations = 0
		if ferr != nil {
			c.reply(errFrame(ferr, f.ClientID))
			continue
		}
		c.svc.handle(ctx, c, &f)
	}
}

// drain writes queued items until the outbox is empty or the connection
// ends; a failed write ends the connection.
func (c *conn) drain() {
	defer c.writers.Done()
	for {
		items := c.out.next()
		if items == nil {
			return
		}
		for _, it := range items {
			err := c.process(c.life, it)
			var werr *writeError
			if errors.As(err, &werr) {
				c.logger().Debug("write", "err", err)
				c.out.close()
				c.close(websocket.StatusInternalError, "write failed")
				c.out.next() // mark the writer stopped
				return
			} else if err != nil {
				c.logger().Warn("prepare frames", "err", err)
			}
		}
	}
}

// startTimers arms the resume window (held chats are released when it
// passes) and the keepalive.
func (c *conn) startTimers() {
	c.timers = append(c.timers,
		time.AfterFunc(c.svc.cfg.ResumeWindow, func() { c.enqueue(item{unpause: true}) }))
	var ping *time.Timer
	ping = time.AfterFunc(c.svc.cfg.PingEvery, func() {
		if c.ping(c.life) {
			ping.Reset(c.svc.cfg.PingEvery)
		}
	})
	c.timers = append(c.timers, ping)
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
	case it.greet:
		if err := c.svc.greet(ctx, c); err != nil {
			var werr *writeError
			if !errors.As(err, &werr) {
				c.logger().Warn("greet", "err", err)
			}
			c.close(websocket.StatusTryAgainLater, "try again later")
			return &writeError{err}
		}
		return nil
	case it.resync:
		return c.catchUp(ctx)
	case it.closing != nil:
		c.close(it.closing.code, it.closing.reason)
		return &writeError{errors.New(it.closing.reason)} // ends the writer; the close above already chose the code
	case it.unpause:
		for id, st := range c.chats {
			if st.paused {
				if err := c.unpause(ctx, id, st); err != nil {
					return err
				}
			}
		}
		return nil
	}
	e := it.env
	switch e.Kind {
	case evKick:
		c.close(4001, "account disabled")
		return nil
	case evJoin:
		return c.join(ctx, e)
	case evLeave:
		if e.Frame != nil {
			if err := c.write(ctx, e.Frame); err != nil {
				return err
			}
		}
		c.leave(e.Chat)
		return nil
	}
	if (e.Staff && !c.isStaff()) || (e.Skip != "" && e.Skip == c.who.key()) {
		return nil
	}
	if e.Agent != "" { // chat.assigned: once per agent, however it reached us
		if st := c.chats[e.Chat]; st != nil {
			if st.announced == e.Agent {
				return nil
			}
			st.announced = e.Agent
		}
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
		if err := c.sendStored(ctx, e.Chat, kind, last, seq-1); err != nil {
			return err
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
func (c *conn) join(ctx context.Context, e *envelope) error {
	chatID := e.Chat
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
		f, err := c.svc.assignedFrame(ctx, ch, true, e.First)
		if err != nil {
			return err
		}
		st := c.chats[chatID]
		st.lastSeq, st.lastNote, st.announced = f.LastSeq, f.LastNote, assignment(ch)
		return c.write(ctx, encode(f))
	}
	// A visitor's tab: the chat's messages so far, then where it stands.
	// (Read after subscribing: a later message arrives live.)
	if st := c.chats[chatID]; e.First != nil && ch.LastSeq == 1 && st.lastSeq == 0 {
		if err := c.write(ctx, encode(e.First)); err != nil {
			return err
		}
		st.lastSeq = 1
	} else if err := c.replay(ctx, chatID, 0, nil); err != nil {
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
		f, err := c.svc.assignedFrame(ctx, ch, false, nil)
		if err != nil {
			return err
		}
		if st := c.chats[ch.ID]; st != nil {
			if st.announced == assignment(ch) {
				return nil
			}
			st.announced = assignment(ch)
		}
		return c.write(ctx, encode(f))
	}
	return nil
}

func (c *conn) leave(chatID string) {
	delete(c.chats, chatID)
	c.allowMu.Lock()
	delete(c.allowed, chatID) // typing and read are checked afresh
	c.allowMu.Unlock()
	c.svc.hub.unsubscribe(c.svc.hub.chatChannel(chatID), c)
}

// replay sends the messages (and, to staff who ask with afterNote, notes)
// after the given seqs that this connection has not sent yet, in order.
// A connection has sent everything in (base, last] of a chat it follows:
// a resume that comes after live messages flowed gets only what precedes
// them, never a second copy.
func (c *conn) replay(ctx context.Context, chatID string, afterSeq int64, afterNote *int64) error {
	st := c.chats[chatID]
	if st == nil {
		if err := c.svc.hub.subscribe(ctx, c.svc.hub.chatChannel(chatID), c); err != nil {
			return err
		}
		ch, err := c.svc.store.Chat(ctx, chatID)
		if err != nil {
			return err
		}
		// Notes from now on, unless the client asks for earlier ones.
		st = &chatState{lastSeq: afterSeq, base: afterSeq, lastNote: ch.LastNote, baseNote: ch.LastNote}
		c.chats[chatID] = st
		c.allow(chatID)
		if afterNote != nil {
			st.lastNote, st.baseNote = *afterNote, *afterNote
		}
	}
	if st.paused { // nothing live sent yet: start where the client stands
		st.lastSeq, st.base = afterSeq, afterSeq
	}
	if err := c.replayKind(ctx, chatID, KindMessage, afterSeq, &st.base, &st.lastSeq); err != nil {
		return err
	}
	if c.isStaff() && afterNote != nil {
		if st.paused {
			st.lastNote, st.baseNote = *afterNote, *afterNote
		}
		if err := c.replayKind(ctx, chatID, KindNote, *afterNote, &st.baseNote, &st.lastNote); err != nil {
			return err
		}
	}
	if st.paused {
		return c.unpause(ctx, chatID, st)
	}
	return nil
}

// replayKind sends one kind's items in (after, *base], or everything after
// `after` when the connection has sent nothing beyond *base yet, and moves
// the marks.
func (c *conn) replayKind(ctx context.Context, chatID, kind string, after int64, base, last *int64) error {
	if after >= *base && *base < *last {
		return nil // the client has everything this connection sent
	}
	if *base >= *last { // nothing live sent: replay to the end
		*last = after
		if err := c.sendStored(ctx, chatID, kind, last, -1); err != nil {
			return err
		}
	} else {
		from := after // sendStored moves it along
		if err := c.sendStored(ctx, chatID, kind, &from, *base); err != nil {
			return err
		}
	}
	*base = min(*base, after)
	return nil
}

// sendStored writes the chat's stored items of kind with seq in
// (*from, upTo] (upTo < 0: all), in order, moving *from along.
func (c *conn) sendStored(ctx context.Context, chatID, kind string, from *int64, upTo int64) error {
	for {
		limit := 500
		if upTo >= 0 {
			limit = int(min(upTo-*from, 500))
		}
		if limit <= 0 {
			return nil
		}
		msgs, err := c.svc.store.Messages(ctx, chatID, kind, *from, limit)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if err := c.write(ctx, encode(newMessageFrame(m))); err != nil {
				return err
			}
			*from = m.Seq
		}
		if len(msgs) < limit {
			return nil
		}
	}
}

// catchUp sends every followed chat's messages (and, to staff, notes)
// stored after the last one this connection sent: after the relay between
// nodes was cut, nothing published meanwhile arrived.
func (c *conn) catchUp(ctx context.Context) error {
	for id, st := range c.chats {
		if st.paused { // its resume, or the window's end, covers it
			continue
		}
		if err := c.sendStored(ctx, id, KindMessage, &st.lastSeq, -1); err != nil {
			return err
		}
		if c.isStaff() {
			if err := c.sendStored(ctx, id, KindNote, &st.lastNote, -1); err != nil {
				return err
			}
		}
	}
	return nil
}

// ping checks that the peer still answers; one that does not within the
// timeout is disconnected.
func (c *conn) ping(ctx context.Context) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	ctx, cancel := context.WithTimeout(ctx, c.svc.cfg.PingTimeout)
	defer cancel()
	if err := c.ws.Ping(ctx); err != nil {
		c.close(websocket.StatusPolicyViolation, "keepalive timeout")
		return false
	}
	return true
}
