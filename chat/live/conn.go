package live

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/chatd/chatd/chat"
)

// item is one thing for a connection's writer: an envelope from the hub, a
// frame for this connection only, or a request of its own.
type item struct {
	env     *envelope
	raw     []byte
	resume  *inFrame
	greet   bool   // the connection opened: subscribe, send hello
	unpause bool   // the resume window passed: release held chats
	resync  bool   // the relay was cut: send what was stored meanwhile
	place   *place // a visitor's chat's place in its queue
	closing *closing
}

// closing closes the socket once the frames queued before it are written.
type closing struct {
	code   websocket.StatusCode
	reason string
}

// conn is one WebSocket. Its reader goroutine handles client frames in
// order. Frames to send wait in the outbox; a writer goroutine runs only
// while there is something to write, so an idle connection costs one
// goroutine. The reader ends when the socket closes or Shutdown closes it;
// a writer ends when the outbox is empty or the connection is closed.
type conn struct {
	svc     *Service
	ws      *websocket.Conn
	who     chat.Principal
	session string // the staff session token the socket was opened with
	ip      string
	out     outbox
	done    chan struct{}
	once    sync.Once
	limiter *rate.Limiter
	// life is the connection's lifetime, for the writers started on demand;
	// it ends when the connection is torn down.
	life    context.Context
	writers sync.WaitGroup
	writing atomic.Int64 // when the write under way began (Unix ns), 0 when none
	// timers are the resume window and the keepalive, armed before the
	// connection is added to the hub (whose Shutdown stops them).
	timers []*time.Timer

	visitorName string
	channels    map[string]struct{} // guarded by the hub's mutex

	follow *follower // the writer's (one at a time)

	// greeted is closed once hello and the state it describes are
	// written: the reader handles no frame before, so hello shows the
	// moment of connecting and nothing a frame causes can precede it.
	greeted chan struct{}
	// counted: a visitor's socket the assigner counts (VisitorConnected),
	// to be uncounted when it closes.
	counted atomic.Bool

	// Messages being committed: at most cap(inflight) at once; pending
	// lets other frames wait for them.
	inflight chan struct{}
	pending  sync.WaitGroup

	allowMu sync.Mutex
	allowed map[string]bool // chats this connection follows, for typing and read
}

func (s *Service) newConn(ctx context.Context, ws *websocket.Conn, who chat.Principal, session, name, ip string) *conn {
	c := &conn{
		svc: s, ws: ws, who: who, session: session, ip: ip, visitorName: name, life: ctx,
		out: newOutbox(s.cfg.SendQueue), done: make(chan struct{}), greeted: make(chan struct{}), inflight: make(chan struct{}, 64),
		limiter: rate.NewLimiter(s.cfg.FrameRate, s.cfg.FrameBurst),
		allowed: map[string]bool{}, channels: map[string]struct{}{},
	}
	c.follow = newFollower(who.IsStaff(), c.write, s.store.Messages)
	c.startTimers()
	return c
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

func (c *conn) isStaff() bool { return c.who.IsStaff() }

// logger is made when needed: an idle connection keeps none.
func (c *conn) logger() *slog.Logger { return c.svc.log.With("who", c.who.Key()) }

// deliver queues an envelope without blocking; a connection that cannot
// keep up is cut off rather than slowing the relay.
func (c *conn) deliver(e *envelope) { c.enqueue(item{env: e}) }

func (c *conn) enqueue(it item) {
	if c.stalled() {
		c.cutOff("slow consumer: not reading")
		return
	}
	ok := c.out.push(it, func() {
		c.writers.Add(1)
		go c.drain()
	})
	if !ok {
		c.cutOff("slow consumer: send queue full")
	}
}

// stalled reports whether the writer has been stuck in one write for
// longer than the stall timeout: the peer is not reading. It is cut off
// as a slow consumer then, before the write's own timeout would drop the
// connection without a word.
func (c *conn) stalled() bool {
	since := c.writing.Load()
	return since != 0 && time.Since(time.Unix(0, since)) > c.svc.cfg.StallTimeout
}

// cutOff closes a connection that cannot keep up (1013), counting it once.
func (c *conn) cutOff(reason string) {
	if c.out.cut() {
		c.svc.metrics.slowClosed.Inc()
		go c.close(websocket.StatusTryAgainLater, reason)
	}
}

func (c *conn) reply(b []byte) { c.enqueue(item{raw: b}) }

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

// cut closes the outbox of a connection that cannot keep up, once: it
// reports whether this call did it, so the connection is counted and
// closed a single time and later frames are dropped.
func (o *outbox) cut() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return false
	}
	o.closed, o.items = true, nil
	return true
}

// close drops what is waiting and starts no more writers.
func (o *outbox) close() {
	o.mu.Lock()
	o.closed, o.items = true, nil
	o.mu.Unlock()
}

func (c *conn) close(code websocket.StatusCode, reason string) {
	c.once.Do(func() {
		close(c.done)
		for _, t := range c.timers {
			t.Stop()
		}
		c.ws.Close(code, reason)
	})
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

// readLoop handles client frames until the socket fails or closes.
func (c *conn) readLoop(ctx context.Context) error {
	// A burst past the limit is answered frame by frame; a client that has
	// more than maxStrikes frames refused with no pause of a second between
	// them is flooding, and is closed. (A frame let through now and then by
	// the refilling limit is no pause.)
	strikes, lastStrike := 0, time.Time{}
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			return err
		}
		// A frame sent before hello waits for it (the socket holds the
		// ones after it).
		select {
		case <-c.greeted:
		case <-c.done:
			return errors.New("closed before hello")
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
		if !c.limiter.Allow() || !c.svc.limits.allow(c.ip) {
			c.svc.metrics.rateLimited.Inc()
			c.reply(errFrame(chat.Errorf(chat.ERateLimited, "too many frames; slow down"), f.ClientID))
			strikes, lastStrike = strikes+1, time.Now()
			if strikes > maxStrikes {
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
		if strikes > 0 && time.Since(lastStrike) > time.Second {
			strikes = 0
		}
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

// write sends one frame under its own timeout.
func (c *conn) write(ctx context.Context, b []byte) error {
	// Well past the stall timeout: a peer that stops reading is cut off as
	// a slow consumer (1013) first, and the close frame still has time to
	// reach it should it read again.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c.writing.Store(time.Now().UnixNano())
	defer c.writing.Store(0)
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

// process runs one item on the writer.
func (c *conn) process(ctx context.Context, it item) error {
	switch {
	case it.raw != nil:
		return c.write(ctx, it.raw)
	case it.resume != nil:
		return c.resume(ctx, it.resume)
	case it.greet:
		return c.greet(ctx)
	case it.resync:
		return c.follow.catchUp(ctx)
	case it.unpause:
		return c.follow.releaseAll(ctx)
	case it.place != nil:
		return c.follow.placed(ctx, it.place)
	case it.closing != nil:
		c.close(it.closing.code, it.closing.reason)
		return &writeError{errors.New(it.closing.reason)} // ends the writer; the close above already chose the code
	}
	return c.envelope(ctx, it.env)
}

// envelope handles what the hub delivered.
func (c *conn) envelope(ctx context.Context, e *envelope) error {
	switch e.Kind {
	case evKick:
		if e.Token != "" && e.Token != c.who.TokenID {
			return nil // another device's token of the visitor
		}
		c.close(closeSessionEnded, "session ended")
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
	if (e.Staff && !c.isStaff()) || (e.Skip != "" && e.Skip == c.who.Key()) {
		return nil
	}
	// A chat's frames reach only connections that follow it: one that
	// left it (its chat.transferred moved the chat away) may still get
	// what was on the way to the chat's channel before it unsubscribed.
	if e.Chat != "" && c.follow.chats[e.Chat] == nil {
		return nil
	}
	if e.Agent != "" {
		if !c.announce(e.Chat, e.Agent) { // chat.assigned: once per assignment, however it reached us
			return nil
		}
		c.follow.unplaced(e.Chat)
	}
	if e.Seq > 0 || e.Note > 0 {
		return c.follow.ordered(ctx, e)
	}
	if err := c.write(ctx, e.Frame); err != nil {
		return err
	}
	if e.Unit != "" && e.Chat != "" { // chat.transferred: the chat's unit from now on
		return c.follow.moved(ctx, e.Chat, e.Unit)
	}
	return nil
}

// announce reports whether an assignment of a followed chat is news to
// this connection, and remembers it.
func (c *conn) announce(chatID, assignment string) bool {
	st := c.follow.chats[chatID]
	if st == nil {
		return true
	}
	if st.announced == assignment {
		return false
	}
	st.announced = assignment
	return true
}

// greet sends hello and what the connection follows from the start.
func (c *conn) greet(ctx context.Context) error {
	var err error
	if c.isStaff() {
		err = c.svc.greetStaff(ctx, c)
	} else {
		err = c.svc.greetVisitor(ctx, c)
	}
	if err != nil {
		var werr *writeError
		if !errors.As(err, &werr) {
			c.logger().Warn("greet", "err", err)
		}
		c.close(websocket.StatusTryAgainLater, "try again later")
		return &writeError{err}
	}
	close(c.greeted)
	return nil
}

// resume starts following a chat the connection does not follow yet, from
// where the client stands, and replays what it lacks.
func (c *conn) resume(ctx context.Context, f *inFrame) error {
	if c.follow.chats[f.ChatID] == nil {
		if err := c.svc.hub.subscribe(ctx, c.svc.hub.chatChannel(f.ChatID), c); err != nil {
			return err
		}
		ch, err := c.svc.store.Chat(ctx, f.ChatID)
		if err != nil {
			return err
		}
		// Notes from now on, unless the client asks for earlier ones.
		notes := marks{ch.LastNote, ch.LastNote}
		if f.AfterNote != nil {
			notes = marks{*f.AfterNote, *f.AfterNote}
		}
		c.follow.follow(ch.ID, marks{f.AfterSeq, f.AfterSeq}, notes, false).unit = ch.Unit
		c.allow(ch.ID)
	}
	return c.follow.resume(ctx, f.ChatID, f.AfterSeq, f.AfterNote)
}

// join subscribes the connection to a chat and sends what it needs to
// start following it: an agent the chat, its visitor and its history; a
// visitor's tab the messages so far and where the chat stands.
func (c *conn) join(ctx context.Context, e *envelope) error {
	if err := c.svc.hub.subscribe(ctx, c.svc.hub.chatChannel(e.Chat), c); err != nil {
		return err
	}
	c.allow(e.Chat)
	if c.isStaff() {
		return c.joinAssigned(ctx, e)
	}
	// Read after subscribing: whatever is later arrives live.
	ch, err := c.svc.store.Chat(ctx, e.Chat)
	if err != nil {
		return err
	}
	st := c.follow.follow(ch.ID, marks{}, marks{}, false)
	st.unit = ch.Unit
	if e.First != nil && ch.LastSeq == 1 && st.msgs.last == 0 {
		if err := c.write(ctx, encode(e.First)); err != nil {
			return err
		}
		st.msgs.last = 1
	} else if err := c.follow.resume(ctx, ch.ID, 0, nil); err != nil {
		return err
	}
	return c.writeState(ctx, ch)
}

// joinAssigned sends an agent's connection the chat just assigned to it,
// as the envelope carries it, with the history read after subscribing.
func (c *conn) joinAssigned(ctx context.Context, e *envelope) error {
	var ch *chat.Chat
	if e.Assigned != nil {
		cp := *e.Assigned // the envelope is shared with this node's other connections
		cp.LastNote = e.LastNote
		ch = &cp
	} else { // a chat taken back by a transfer to this agent's queue
		var err error
		if ch, err = c.svc.store.Chat(ctx, e.Chat); err != nil {
			return err
		}
	}
	f, err := c.svc.assignedFrame(ctx, ch, e.Visitor, e.Presence, true)
	if err != nil {
		return err
	}
	st := c.follow.follow(ch.ID, marks{}, marks{}, false)
	st.msgs.last, st.notes.last, st.announced = f.LastSeq, f.LastNote, assignment(ch)
	return c.write(ctx, encode(f))
}

// writeState tells a visitor where their chat stands.
func (c *conn) writeState(ctx context.Context, ch *chat.Chat) error {
	switch ch.Status {
	case chat.StatusQueued:
		f, err := c.svc.queuedFrame(ctx, ch)
		if err != nil || f.Position == 0 { // 0: assigned meanwhile; chat.assigned follows
			return err
		}
		return c.follow.tell(ctx, c.follow.chats[ch.ID], &place{chatID: ch.ID, unit: f.Unit, position: f.Position, frame: encode(f)})
	case chat.StatusActive:
		if st := c.follow.chats[ch.ID]; st != nil && st.announced == assignment(ch) {
			return nil
		}
		f, err := c.svc.assignedFrame(ctx, ch, nil, nil, false)
		if err != nil {
			return err
		}
		c.announce(ch.ID, assignment(ch))
		return c.write(ctx, encode(f))
	}
	return nil
}

func (c *conn) leave(chatID string) {
	c.follow.forget(chatID)
	c.allowMu.Lock()
	delete(c.allowed, chatID) // typing and read are checked afresh
	c.allowMu.Unlock()
	c.svc.hub.unsubscribe(c.svc.hub.chatChannel(chatID), c)
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

// maxStrikes is how many frames in a row the rate limits may refuse a
// connection before it is closed.
const maxStrikes = 200

// closeSessionEnded closes a staff socket whose session ended: the account
// was disabled, its password changed, or the session logged out.
const closeSessionEnded websocket.StatusCode = 4001
