package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// frame is a decoded server frame.
type frame map[string]any

func (f frame) str(k string) string { s, _ := f[k].(string); return s }
func (f frame) num(k string) int64  { n, _ := f[k].(float64); return int64(n) }

// wsClient is a protocol client written from the contract: it records every
// frame it receives, in order.
type wsClient struct {
	t    *testing.T
	ws   *websocket.Conn
	mu   sync.Mutex
	got  []frame
	next int
	wake chan struct{}
	done chan struct{}
	err  error
}

func dial(t *testing.T, url string, header http.Header) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	ws.SetReadLimit(1 << 20)
	c := &wsClient{t: t, ws: ws, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go c.read()
	t.Cleanup(func() { ws.Close(websocket.StatusNormalClosure, "") })
	return c
}

func (c *wsClient) read() {
	defer close(c.done)
	for {
		_, b, err := c.ws.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			c.t.Errorf("server sent non-JSON %q", b)
			continue
		}
		c.mu.Lock()
		c.got = append(c.got, f)
		c.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	if err := c.ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// expect returns the next frame of type typ matching ok (nil: any),
// skipping other frames, or fails after a few seconds.
func (c *wsClient) expect(typ string, ok func(frame) bool) frame {
	c.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		c.mu.Lock()
		for c.next < len(c.got) {
			f := c.got[c.next]
			c.next++
			if f.str("type") == typ && (ok == nil || ok(f)) {
				c.mu.Unlock()
				return f
			}
		}
		err := c.err
		c.mu.Unlock()
		if err != nil {
			c.t.Fatalf("waiting for %s: connection ended: %v", typ, err)
		}
		select {
		case <-c.wake:
		case <-deadline:
			c.t.Fatalf("no %s frame within 5s; got %v", typ, c.all())
		}
	}
}

// all returns every frame received so far.
func (c *wsClient) all() []frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]frame(nil), c.got...)
}

// count counts received frames of typ matching ok.
func (c *wsClient) count(typ string, ok func(frame) bool) int {
	n := 0
	for _, f := range c.all() {
		if f.str("type") == typ && (ok == nil || ok(f)) {
			n++
		}
	}
	return n
}

// call sends a frame with a fresh client_id and returns the ack, or fails
// on an error frame.
func (c *wsClient) call(v map[string]any) frame {
	c.t.Helper()
	id := uuid.NewString()
	v["client_id"] = id
	c.send(v)
	return c.reply(id, "ack")
}

// callErr sends a frame expecting an error and returns its code.
func (c *wsClient) callErr(v map[string]any) string {
	c.t.Helper()
	id := uuid.NewString()
	if _, ok := v["client_id"]; !ok {
		v["client_id"] = id
	} else {
		id, _ = v["client_id"].(string)
	}
	c.send(v)
	return c.reply(id, "error").str("code")
}

// reply waits for the ack or error whose client_id/ref is id and checks
// its type.
func (c *wsClient) reply(id, want string) frame {
	c.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		for _, f := range c.all() {
			if (f.str("type") == "ack" && f.str("client_id") == id) || (f.str("type") == "error" && f.str("ref") == id) {
				if f.str("type") != want {
					c.t.Fatalf("want %s for %s, got %v", want, id, f)
				}
				return f
			}
		}
		select {
		case <-c.wake:
		case <-c.done:
			c.t.Fatalf("connection ended waiting for %s %s: %v", want, id, c.err)
		case <-deadline:
			c.t.Fatalf("no reply to %s within 5s; got %v", id, c.all())
		}
	}
}

// closed waits for the server to close the connection and returns the code.
func (c *wsClient) closed() websocket.StatusCode {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.t.Fatal("connection not closed within 5s")
	}
	return websocket.CloseStatus(c.err)
}

func wsURL(n *node, path string) string { return "ws" + strings.TrimPrefix(n.url, "http") + path }

// api calls the REST API with an optional bearer token and decodes JSON.
// rawBody is a request body sent byte for byte (json.Marshal would turn
// bytes that are not UTF-8 into U+FFFD).
type rawBody string

func api(t *testing.T, method, url, token string, body any, into any) int {
	t.Helper()
	var rd io.Reader
	if raw, ok := body.(rawBody); ok {
		rd = strings.NewReader(string(raw))
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	checkResponse(t, req, resp, b)
	if into != nil {
		if len(b) > 0 {
			if err := json.Unmarshal(b, into); err != nil {
				t.Fatalf("%s %s: decode %q: %v", method, url, b, err)
			}
		}
	}
	return resp.StatusCode
}

// newVisitor makes a visitor and connects it.
func newVisitor(t *testing.T, n *node) (*wsClient, string) {
	t.Helper()
	var v struct{ VisitorID, Token string }
	var raw map[string]string
	if code := api(t, "POST", n.url+"/api/v1/visitors", "", map[string]string{}, &raw); code != 201 {
		t.Fatalf("create visitor: %d %v", code, raw)
	}
	v.VisitorID, v.Token = raw["visitor_id"], raw["token"]
	c := dial(t, wsURL(n, "/ws/visitor?token="+v.Token), nil)
	c.expect("hello", nil)
	return c, v.Token
}

// login logs staff in and returns the token.
func login(t *testing.T, n *node, email, password string) string {
	t.Helper()
	var out struct{ Token string }
	if code := api(t, "POST", n.url+"/api/v1/auth/login", "", map[string]string{"email": email, "password": password}, &out); code != 200 {
		t.Fatalf("login %s: %d", email, code)
	}
	return out.Token
}

// newAgent creates an agent (see createStaff), connects it and sets it
// online.
func newAgent(t *testing.T, n *node, name string, units []string, max int) (*wsClient, string) {
	t.Helper()
	a := createStaff(t, n, name, "agent", units, max)
	c, _ := dialStaff(t, n, a, true)
	return c, a.id
}
