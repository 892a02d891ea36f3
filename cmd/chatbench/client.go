package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// newHTTPClient makes the REST client: enough idle connections per host
// that thousands of sign-ups reuse sockets instead of exhausting ports.
func newHTTPClient() *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     30 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// api is the REST side of one chatd node.
type api struct {
	hc   *http.Client
	base string // http://host:port
}

// apiError is a non-2xx answer, with the error code from the JSON body.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message) }

func (a api) do(ctx context.Context, method, path, token string, body, into any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		return &apiError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	if into != nil {
		return json.Unmarshal(b, into)
	}
	return nil
}

func (a api) createVisitor(ctx context.Context) (id, token string, err error) {
	var out struct {
		ID    string `json:"visitor_id"`
		Token string `json:"token"`
	}
	err = a.do(ctx, http.MethodPost, "/api/v1/visitors", "", map[string]string{}, &out)
	return out.ID, out.Token, err
}

func (a api) login(ctx context.Context, email, password string) (token, agentID string, err error) {
	var out struct {
		Token string `json:"token"`
		Agent struct {
			ID string `json:"id"`
		} `json:"agent"`
	}
	err = a.do(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}, &out)
	return out.Token, out.Agent.ID, err
}

func (a api) createAgent(ctx context.Context, admin string, acct *agentAccount, password string) error {
	var out struct {
		ID string `json:"id"`
	}
	err := a.do(ctx, http.MethodPost, "/api/v1/agents", admin, map[string]any{
		"email": acct.Email, "password": password, "name": acct.Name, "units": []string{acct.Unit},
		"max_chats": acct.MaxChats, "role": "agent",
	}, &out)
	acct.ID = out.ID
	return err
}

func (a api) units(ctx context.Context) ([]string, error) {
	var out struct {
		Units []struct {
			Name string `json:"name"`
		} `json:"units"`
	}
	if err := a.do(ctx, http.MethodGet, "/api/v1/units", "", nil, &out); err != nil {
		return nil, err
	}
	names := make([]string, len(out.Units))
	for i, u := range out.Units {
		names[i] = u.Name
	}
	return names, nil
}

// wsURL turns http://host:port into ws://host:port + path.
func wsURL(base, path string) string {
	if rest, ok := strings.CutPrefix(base, "https://"); ok {
		return "wss://" + rest + path
	}
	return "ws://" + strings.TrimPrefix(base, "http://") + path
}

// Frame is a server frame, decoded as far as the benchmark needs.
type Frame struct {
	Type     string    `json:"type"`
	ClientID string    `json:"client_id"`
	ChatID   string    `json:"chat_id"`
	Seq      int64     `json:"seq"`
	Text     string    `json:"text"`
	Code     string    `json:"code"`
	Message  string    `json:"message"`
	Ref      string    `json:"ref"`
	Unit     string    `json:"unit"`
	LastSeq  int64     `json:"last_seq"`
	Agent    *agentRef `json:"agent"`
	Chat     *chatRef  `json:"chat"`
	Chats    []chatRef `json:"chats"`
}

type agentRef struct {
	ID string `json:"id"`
}

type chatRef struct {
	ID      string `json:"id"`
	LastSeq int64  `json:"last_seq"`
}

// frameType reads the type of a frame whose first member is "type", as
// every frame of chatd and of the relay is, without decoding the rest.
func frameType(b []byte) string {
	const prefix = `{"type":"`
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return ""
	}
	rest := b[len(prefix):]
	if i := bytes.IndexByte(rest, '"'); i >= 0 {
		return string(rest[:i])
	}
	return ""
}

// skipped frame types carry nothing the benchmark measures; they are not
// decoded (queue frames, in particular, can be large).
func skipped(typ string) bool {
	switch typ {
	case "queue", "presence", "typing", "read", "chat.queued":
		return true
	}
	return false
}

// Handler sees every frame a Conn receives, in its reader goroutine; at is
// when the frame was read.
type Handler func(c *Conn, f *Frame, at time.Time)

// Conn is one client WebSocket. A reader goroutine decodes frames, wakes
// the waiters they match and passes them to the handler; it ends when the
// socket does. Writes may come from any goroutine.
type Conn struct {
	ws      *websocket.Conn
	handler Handler
	done    chan struct{}
	err     error // set before done is closed

	mu      sync.Mutex
	waiters []*waiter
	nwait   atomic.Int32
}

type waiter struct {
	match func(*Frame) bool
	ch    chan *Frame
}

// Dial opens a socket. With hello, it waits for the server's hello frame
// and returns it.
func Dial(ctx context.Context, url string, h Handler, hello bool) (*Conn, *Frame, error) {
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(dctx, url, &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		if resp != nil {
			return nil, nil, fmt.Errorf("dial: HTTP %d: %w", resp.StatusCode, err)
		}
		return nil, nil, fmt.Errorf("dial: %w", err)
	}
	ws.SetReadLimit(8 << 20)
	c := &Conn{ws: ws, handler: h, done: make(chan struct{})}
	var w *waiter
	if hello {
		w = c.expect(func(f *Frame) bool { return f.Type == "hello" })
	}
	go c.read()
	if !hello {
		return c, nil, nil
	}
	f, err := c.wait(dctx, w)
	if err != nil {
		c.CloseNow()
		return nil, nil, fmt.Errorf("hello: %w", err)
	}
	return c, f, nil
}

func (c *Conn) read() {
	var err error
	defer func() {
		c.err = err
		close(c.done)
	}()
	for {
		var b []byte
		_, b, err = c.ws.Read(context.Background())
		if err != nil {
			return
		}
		at := time.Now()
		f := &Frame{Type: frameType(b)}
		if !skipped(f.Type) {
			if err := json.Unmarshal(b, f); err != nil {
				f = &Frame{Type: "invalid", Text: string(b)}
			}
		}
		if c.nwait.Load() > 0 {
			c.wake(f)
		}
		if c.handler != nil {
			c.handler(c, f, at)
		}
	}
}

func (c *Conn) wake(f *Frame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, w := range c.waiters {
		if w.match(f) {
			w.ch <- f
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			c.nwait.Add(-1)
			return
		}
	}
}

// expect registers interest in the next frame matching match; register
// before sending what provokes it.
func (c *Conn) expect(match func(*Frame) bool) *waiter {
	w := &waiter{match: match, ch: make(chan *Frame, 1)}
	c.mu.Lock()
	c.waiters = append(c.waiters, w)
	c.nwait.Add(1)
	c.mu.Unlock()
	return w
}

func (c *Conn) forget(w *waiter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.waiters {
		if x == w {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			c.nwait.Add(-1)
			return
		}
	}
}

func (c *Conn) wait(ctx context.Context, w *waiter) (*Frame, error) {
	select {
	case f := <-w.ch:
		return f, nil
	case <-c.done:
		c.forget(w)
		select { // it may have matched just before the socket ended
		case f := <-w.ch:
			return f, nil
		default:
		}
		return nil, fmt.Errorf("connection ended: %w", c.err)
	case <-ctx.Done():
		c.forget(w)
		return nil, ctx.Err()
	}
}

// Send writes one text frame under a timeout.
func (c *Conn) Send(ctx context.Context, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, b)
}

// Call sends a state-changing frame with a fresh client_id and waits for
// its ack; an error frame becomes an error.
func (c *Conn) Call(ctx context.Context, frame map[string]any) (*Frame, error) {
	id := uuid.NewString()
	frame["client_id"] = id
	b, err := json.Marshal(frame)
	if err != nil {
		return nil, err
	}
	w := c.expect(func(f *Frame) bool {
		return (f.Type == "ack" && f.ClientID == id) || (f.Type == "error" && f.Ref == id)
	})
	if err := c.Send(ctx, b); err != nil {
		c.forget(w)
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	f, err := c.wait(ctx, w)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", frame["type"], err)
	}
	if f.Type == "error" {
		return f, fmt.Errorf("%s: %s: %s", frame["type"], f.Code, f.Message)
	}
	return f, nil
}

// Close ends the socket with a normal closure (waiting briefly for the
// peer's answer); CloseNow drops it at once, as a lost network would.
func (c *Conn) Close() { _ = c.ws.Close(websocket.StatusNormalClosure, "") }

func (c *Conn) CloseNow() { _ = c.ws.CloseNow() }

// Done is closed when the socket has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// messageFrame encodes a chat message; text and chatID are the
// benchmark's own (ASCII letters, digits, '-' and spaces), so they need no
// escaping.
func messageFrame(chatID, text string) []byte {
	b := make([]byte, 0, 160)
	b = append(b, `{"type":"message","client_id":"`...)
	b = append(b, uuid.NewString()...)
	b = append(b, `","chat_id":"`...)
	b = append(b, chatID...)
	b = append(b, `","text":"`...)
	b = append(b, text...)
	b = append(b, `"}`...)
	return b
}

// mustJSON encodes a frame built from plain maps, which cannot fail.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("encode frame: " + err.Error())
	}
	return b
}
