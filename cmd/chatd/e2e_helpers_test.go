package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/cmd/internal/server"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/chatd/chatd/chat"
)

// Helpers shared by the end-to-end tests: credentials over REST, sockets
// opened with a known token, and checks on what a client received.

// createVisitor makes a visitor over REST and returns its id and token.
func createVisitor(t *testing.T, n *node) (id, token string) {
	t.Helper()
	var raw map[string]string
	if code := api(t, "POST", n.url+"/api/v1/visitors", "", map[string]string{}, &raw); code != 201 {
		t.Fatalf("create visitor: %d %v", code, raw)
	}
	return raw["visitor_id"], raw["token"]
}

// dialVisitor opens a visitor socket with token and returns it with its hello.
func dialVisitor(t *testing.T, n *node, token string) (*wsClient, frame) {
	t.Helper()
	c := dial(t, wsURL(n, "/ws/visitor?token="+token), nil)
	return c, c.expect("hello", nil)
}

// staffAccount is a staff member made through the admin API.
type staffAccount struct {
	id, name, email, token string
}

// createStaff makes a staff member with the given role and logs them in.
// The account is written straight to the store with a cheap password hash:
// bcrypt at its default cost dominates the tests' time under -race, and the
// admin API that makes accounts has tests of its own.
func createStaff(t *testing.T, n *node, name, role string, units []string, max int) staffAccount {
	t.Helper()
	email := strings.ToLower(name) + "-" + uuid.NewString()[:8] + "@example.com"
	hash, err := bcrypt.GenerateFromPassword([]byte("agent-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	a := &chat.Agent{Email: email, Name: name, PasswordHash: string(hash), Role: role, Units: units, MaxChats: max}
	if err := chat.ValidateAgent(a, n.Cfg.Units); err != nil {
		t.Fatal(err)
	}
	if err := n.DB.CreateAgent(context.Background(), a); err != nil {
		t.Fatalf("create %s: %v", role, err)
	}
	return staffAccount{id: a.ID, name: name, email: email, token: login(t, n, email, "agent-password")}
}

// dialStaff opens a staff socket and, when online, sets the status online.
func dialStaff(t *testing.T, n *node, s staffAccount, online bool) (*wsClient, frame) {
	t.Helper()
	c := dial(t, wsURL(n, "/ws/agent?token="+s.token), nil)
	hello := c.expect("hello", nil)
	if online {
		c.call(map[string]any{"type": "presence", "status": "online"})
	}
	return c, hello
}

// startChat starts a chat and returns its id.
func startChat(t *testing.T, v *wsClient, unit, text string) string {
	t.Helper()
	ack := v.call(map[string]any{"type": "chat.start", "unit": unit, "text": text, "age_confirmed": true})
	if ack.str("chat_id") == "" || ack.num("seq") != 1 {
		t.Fatalf("chat.start ack %v", ack)
	}
	return ack.str("chat_id")
}

// trySend writes a frame and reports the error instead of failing, for use
// from goroutines.
func (c *wsClient) trySend(v any) error {
	b, err := jsonMarshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, b)
}

// sendRaw writes one frame of the given type as is.
func (c *wsClient) sendRaw(typ websocket.MessageType, b []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.ws.Write(ctx, typ, b)
}

// drop cuts the connection without a closing handshake, as a lost network
// would, and waits for the reader to end.
func (c *wsClient) drop() {
	c.ws.CloseNow()
	<-c.done
}

// isOpen reports whether the server has not closed the connection.
func (c *wsClient) isOpen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err == nil
}

// nextErr waits for the next error frame (from the cursor on) whose ref is
// empty, as for frames that carry no client_id.
func (c *wsClient) nextErr() frame {
	c.t.Helper()
	return c.expect("error", func(f frame) bool { return f.str("ref") == "" })
}

// matching returns the received frames of typ matching ok.
func (c *wsClient) matching(typ string, ok func(frame) bool) []frame {
	var out []frame
	for _, f := range c.all() {
		if f.str("type") == typ && (ok == nil || ok(f)) {
			out = append(out, f)
		}
	}
	return out
}

// seqs returns the seq of every message frame of chatID, in arrival order.
func (c *wsClient) seqs(chatID string) []int64 {
	var out []int64
	for _, f := range c.matching("message", forChat(chatID)) {
		out = append(out, f.num("seq"))
	}
	return out
}

// waitSeqs waits until the client holds messages of chatID up to seq last.
func (c *wsClient) waitSeqs(chatID string, last int64) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := c.seqs(chatID)
		if len(s) > 0 && slices.Max(s) >= last {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("messages of %s up to seq %d not received within 10s; got seqs %v", chatID, last, s)
		}
		select {
		case <-c.wake:
		case <-c.done:
			c.t.Fatalf("connection ended waiting for seq %d: %v (got %v)", last, c.err, s)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// checkSeqs fails unless the client received exactly the seqs from..to of
// chatID, each once, in order.
func checkSeqs(t *testing.T, who string, c *wsClient, chatID string, from, to int64) {
	t.Helper()
	got := c.seqs(chatID)
	var want []int64
	for s := from; s <= to; s++ {
		want = append(want, s)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s received seqs %v, want %d..%d each once in order", who, got, from, to)
	}
}

func forChat(id string) func(frame) bool {
	return func(f frame) bool { return f.str("chat_id") == id }
}

func bySeq(id string, seq int64) func(frame) bool {
	return func(f frame) bool { return f.str("chat_id") == id && f.num("seq") == seq }
}

// waitUntil polls cond until it holds or the timeout passes.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// agentOf returns the agent id of a chat.assigned frame.
func agentOf(f frame) string {
	a, _ := f["agent"].(map[string]any)
	s, _ := a["id"].(string)
	return s
}

// lastQueued returns the last chat.queued frame received for chatID, or nil.
func (c *wsClient) lastQueued(chatID string) frame {
	q := c.matching("chat.queued", forChat(chatID))
	if len(q) == 0 {
		return nil
	}
	return q[len(q)-1]
}

// dialStatus tries to open a socket and returns the HTTP status of the
// refusal and the error code of its JSON body (0 and "" when it opened).
func dialStatus(t *testing.T, url string, header http.Header) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header})
	if err == nil {
		ws.Close(websocket.StatusNormalClosure, "")
		return 0, ""
	}
	if resp == nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	var body server.ErrorBody
	if resp.Body != nil {
		_ = jsonDecode(resp.Body, &body)
		resp.Body.Close()
	}
	return resp.StatusCode, body.Error.Code
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// nthReply waits for the n-th (from 1) ack or error frame answering client
// id and returns it.
func (c *wsClient) nthReply(id string, n int) frame {
	c.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		k := 0
		for _, f := range c.all() {
			if (f.str("type") == "ack" && f.str("client_id") == id) || (f.str("type") == "error" && f.str("ref") == id) {
				if k++; k == n {
					return f
				}
			}
		}
		select {
		case <-c.wake:
		case <-c.done:
			c.t.Fatalf("connection ended waiting for reply %d to %s: %v", n, id, c.err)
		case <-deadline:
			c.t.Fatalf("no reply %d to %s within 5s; got %v", n, id, c.all())
		}
	}
}

// waitReply is reply for goroutines: it waits for the ack or error
// answering id and reports whether one came within timeout.
func (c *wsClient) waitReply(id string, timeout time.Duration) (frame, bool) {
	deadline := time.After(timeout)
	for {
		for _, f := range c.all() {
			if (f.str("type") == "ack" && f.str("client_id") == id) || (f.str("type") == "error" && f.str("ref") == id) {
				return f, true
			}
		}
		select {
		case <-c.wake:
		case <-c.done:
			return nil, false
		case <-deadline:
			return nil, false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tryDial is dial for goroutines: it reports the error instead of failing.
func tryDial(t *testing.T, url string) (*wsClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	c := &wsClient{t: t, ws: ws, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go c.read()
	t.Cleanup(func() { ws.Close(websocket.StatusNormalClosure, "") })
	return c, nil
}
