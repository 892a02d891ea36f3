package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// TestProtocolViolationsClose: binary frames, invalid UTF-8 and frames over
// the read limit close the connection with their own codes.
func TestProtocolViolationsClose(t *testing.T) {
	t.Parallel()
	// The read limit is 6 x CHAT_MAX_MESSAGE_BYTES + 4096 = 4696 bytes.
	n := startNode(t, clusterVars(t, "CHAT_MAX_MESSAGE_BYTES", "100"))
	_, token := createVisitor(t, n)
	tests := []struct {
		name string
		typ  websocket.MessageType
		data []byte
		want websocket.StatusCode
	}{
		{"binary frame", websocket.MessageBinary, []byte(`{"type":"typing"}`), websocket.StatusUnsupportedData},
		{"invalid UTF-8", websocket.MessageText, []byte("{\"type\":\"message\",\"text\":\"\xff\xfe\"}"), websocket.StatusInvalidFramePayloadData},
		{"truncated UTF-8 sequence", websocket.MessageText, []byte("{\"type\":\"bad_frame\xe2\x82\"}"), websocket.StatusInvalidFramePayloadData},
		{"frame over the read limit", websocket.MessageText, []byte(`{"type":"message","text":"` + strings.Repeat("a", 5000) + `"}`), websocket.StatusMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := dialVisitor(t, n, token)
			if err := c.sendRaw(tt.typ, tt.data); err != nil {
				t.Fatal(err)
			}
			if code := c.closed(); code != tt.want {
				t.Errorf("closed with %d, want %d", code, tt.want)
			}
		})
	}
	// A frame just under the limit, of escaped text within the message
	// limit, is fine.
	t.Run("escaped text within the limits", func(t *testing.T) {
		c, _ := dialVisitor(t, n, token)
		text := strings.Repeat("\u0001", 99) + "x" // 100 bytes, 595 as JSON
		ack := c.call(map[string]any{"type": "chat.start", "unit": "general", "text": text, "age_confirmed": true})
		if ack.str("chat_id") == "" {
			t.Fatalf("ack %v", ack)
		}
		if m := c.expect("message", bySeq(ack.str("chat_id"), 1)); m.str("text") != text {
			t.Errorf("text came back as %q", m.str("text"))
		}
	})
}

// TestSocketAdmission: Origin checks and credentials, answered before the
// upgrade with JSON errors.
func TestSocketAdmission(t *testing.T) {
	t.Parallel()
	plain := startNode(t, clusterVars(t))
	listed := startNode(t, clusterVars(t, "CHAT_ALLOWED_ORIGINS", "https://shop.example,https://www.shop.example"))
	star := startNode(t, clusterVars(t, "CHAT_ALLOWED_ORIGINS", "*"))

	for _, tt := range []struct {
		name     string
		n        *node
		origin   string
		wantCode int
	}{
		{"no Origin (not a browser)", plain, "", 0},
		{"same origin", plain, plain.url, 0},
		{"foreign origin", plain, "https://evil.example", 403},
		{"null origin", plain, "null", 403},
		{"listed origin", listed, "https://shop.example", 0},
		{"second listed origin", listed, "https://www.shop.example", 0},
		{"listed host, other scheme", listed, "http://shop.example", 403},
		{"listed host, other port", listed, "https://shop.example:8443", 403},
		{"unlisted origin", listed, "https://evil.example", 403},
		{"suffix of a listed origin", listed, "https://shop.example.evil.example", 403},
		{"any origin with *", star, "https://anywhere.example", 0},
	} {
		t.Run("visitor: "+tt.name, func(t *testing.T) {
			_, token := createVisitor(t, tt.n)
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			status, code := dialStatus(t, wsURL(tt.n, "/ws/visitor?token="+token), h)
			if status != tt.wantCode || (status == 403 && code != "origin_not_allowed") {
				t.Errorf("status %d code %q, want %d", status, code, tt.wantCode)
			}
		})
	}

	for _, tt := range []struct {
		name     string
		n        *node
		origin   string
		wantCode int
	}{
		{"no Origin", star, "", 0},
		{"same origin", star, star.url, 0},
		{"foreign origin even with *", star, "https://anywhere.example", 403},
		{"visitor-listed origin", listed, "https://shop.example", 403},
	} {
		t.Run("agent: "+tt.name, func(t *testing.T) {
			s := createStaff(t, tt.n, "Ece", "agent", []string{"general"}, 1)
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			status, code := dialStatus(t, wsURL(tt.n, "/ws/agent?token="+s.token), h)
			if status != tt.wantCode || (status == 403 && code != "origin_not_allowed") {
				t.Errorf("status %d code %q, want %d", status, code, tt.wantCode)
			}
		})
	}

	_, good := createVisitor(t, plain)
	_, other := createVisitor(t, star) // signed by another installation
	staff := createStaff(t, plain, "Ece", "agent", []string{"general"}, 1)
	tampered := good[:len(good)-2] + flip(good[len(good)-2:])
	for _, tt := range []struct {
		name, path string
		header     http.Header
	}{
		{"visitor without token", "/ws/visitor", nil},
		{"visitor with a garbage token", "/ws/visitor?token=garbage", nil},
		{"visitor with a tampered token", "/ws/visitor?token=" + tampered, nil},
		{"visitor with another installation's token", "/ws/visitor?token=" + other, nil},
		{"visitor with a staff token", "/ws/visitor?token=" + staff.token, nil},
		{"agent without credentials", "/ws/agent", nil},
		{"agent with a bad token", "/ws/agent?token=nope", nil},
		{"agent with a bad bearer", "/ws/agent", http.Header{"Authorization": {"Bearer nope"}}},
		{"agent with a visitor token", "/ws/agent?token=" + good, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, code := dialStatus(t, wsURL(plain, tt.path), tt.header)
			if status != 401 || code != "unauthorized" {
				t.Errorf("status %d code %q, want 401 unauthorized", status, code)
			}
		})
	}
	// The staff credential works by bearer header and by session cookie too.
	dial(t, wsURL(plain, "/ws/agent"), http.Header{"Authorization": {"Bearer " + staff.token}}).expect("hello", nil)
	dial(t, wsURL(plain, "/ws/agent"), http.Header{"Cookie": {"chatd_session=" + staff.token}}).expect("hello", nil)
}

func flip(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

// TestRateLimit: a connection past its frame rate gets rate_limited errors
// (nothing stored) while another client on the node stays responsive; one
// that keeps at it is closed with 1008.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t, "CHAT_RATE_CONN_PER_SEC", "5"))
	agent, _ := newAgent(t, n, "Ece", []string{"general"}, 5)
	flooder, _ := newVisitor(t, n)
	chatID := startChat(t, flooder, "general", "hello")
	calm, _ := newVisitor(t, n)
	calmChat := startChat(t, calm, "general", "hi")
	agent.expect("chat.assigned", forChat(chatID))

	const burst = 60
	ids := make([]string, burst)
	for i := range ids {
		ids[i] = uuid.NewString()
		flooder.send(map[string]any{"type": "message", "client_id": ids[i], "chat_id": chatID, "text": "spam " + strconv.Itoa(i)})
	}
	// Meanwhile the other client is served at once.
	start := time.Now()
	calm.call(map[string]any{"type": "message", "chat_id": calmChat, "text": "am I slowed down?"})
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("another client's message took %v during the flood", d)
	}
	acks, limited := 0, 0
	for _, id := range ids {
		switch f := flooder.nthReply(id, 1); {
		case f.str("type") == "ack":
			acks++
		case f.str("code") == "rate_limited":
			limited++
		default:
			t.Errorf("unexpected reply %v", f)
		}
	}
	if limited < burst/2 || acks == 0 {
		t.Errorf("%d acks and %d rate_limited of %d frames; want most limited", acks, limited, burst)
	}
	if !flooder.isOpen() {
		t.Fatal("the flooding connection was closed for a short burst")
	}
	// Only the accepted frames were stored.
	time.Sleep(1200 * time.Millisecond)
	if ack := flooder.call(map[string]any{"type": "message", "chat_id": chatID, "text": "after a pause"}); ack.num("seq") != int64(acks)+2 {
		t.Errorf("message after the flood got seq %d, want %d (1 + %d acked + 1)", ack.num("seq"), acks+2, acks)
	}
	agent.waitSeqs(chatID, int64(acks)+2)

	// Persistent flooding gets the connection closed.
	for i := 0; i < 400; i++ {
		if err := flooder.trySend(map[string]any{"type": "typing", "chat_id": chatID, "on": true}); err != nil {
			break
		}
	}
	if code := flooder.closed(); code != websocket.StatusPolicyViolation {
		t.Errorf("persistent flooder closed with %d, want 1008", code)
	}
	// Every refused frame was answered before the close.
	if n := flooder.count("error", func(f frame) bool { return f.str("code") == "rate_limited" && f.str("ref") == "" }); n <= 200 {
		t.Errorf("%d rate_limited errors before the close, want more than 200", n)
	}
	calm.call(map[string]any{"type": "message", "chat_id": calmChat, "text": "still fine"})
}

// TestRateLimitPerAddress: past the per-address rate, frames from every
// connection of that address are limited.
// TestSteadyFloodCloses: a client that floods at a steady pace, so the
// limit lets a frame through now and then, is still closed as a flooder.
func TestSteadyFloodCloses(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t, "CHAT_RATE_CONN_PER_SEC", "5"))
	v, _ := newVisitor(t, n)
	chatID := startChat(t, v, "general", "hello")
	deadline := time.Now().Add(20 * time.Second)
	for v.isOpen() && time.Now().Before(deadline) {
		if err := v.trySend(map[string]any{"type": "typing", "chat_id": chatID, "on": true}); err != nil {
			break
		}
		time.Sleep(5 * time.Millisecond) // about 200 a second: 40 times the limit
	}
	if code := v.closed(); code != websocket.StatusPolicyViolation {
		t.Errorf("steady flooder closed with %d, want 1008", code)
	}
}

func TestRateLimitPerAddress(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t, "CHAT_RATE_IP_PER_SEC", "10"))
	v1, _ := newVisitor(t, n)
	v2, _ := newVisitor(t, n)
	c1 := startChat(t, v1, "general", "one")
	limited := 0
	for i := 0; i < 40; i++ {
		for _, v := range []*wsClient{v1, v2} {
			v.send(map[string]any{"type": "typing", "chat_id": c1, "on": true})
		}
	}
	waitUntil(3*time.Second, func() bool {
		limited = v1.count("error", func(f frame) bool { return f.str("code") == "rate_limited" }) +
			v2.count("error", func(f frame) bool { return f.str("code") == "rate_limited" })
		return limited >= 40
	})
	if limited < 40 {
		t.Errorf("%d of 80 frames from one address were limited at 10/s (burst 20)", limited)
	}
}

// TestSlowConsumerCutOff: a socket that stops reading while its chat is
// flooded is cut off and delays nobody else: the senders' acks and the
// agent's copy of every message keep flowing.
func TestSlowConsumerCutOff(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t, "CHAT_RATE_CONN_PER_SEC", "100000", "CHAT_RATE_IP_PER_SEC", "100000"))
	agent, _ := newAgent(t, n, "Ece", []string{"general"}, 2)
	_, token := createVisitor(t, n)
	first, _ := dialVisitor(t, n, token)
	chatID := startChat(t, first, "general", "flood incoming")
	agent.expect("chat.assigned", forChat(chatID))
	senders := []*wsClient{first}
	for len(senders) < 4 {
		c, _ := dialVisitor(t, n, token)
		senders = append(senders, c)
	}
	// Another tab of the visitor with a tiny receive buffer that never reads.
	stuck := dialStuck(t, wsURL(n, "/ws/visitor?token="+token))
	time.Sleep(2500 * time.Millisecond) // past the resume window
	conns := metricValue(t, n, "chatd_connections")

	const perSender = 400
	text := strings.Repeat("x", 3000)
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// At most 50 messages in flight, so no write waits on the
			// server for long.
			ids := make([]string, perSender)
			for i := range ids {
				if i >= 50 {
					if _, ok := c.waitReply(ids[i-50], 10*time.Second); !ok {
						t.Errorf("no ack within 10s during the flood")
						return
					}
				}
				ids[i] = uuid.NewString()
				if err := c.trySend(map[string]any{"type": "message", "client_id": ids[i], "chat_id": chatID, "text": text}); err != nil {
					t.Errorf("send: %v", err)
					return
				}
			}
		}()
	}
	// The agent types all along: small frames that need no storage, so once
	// the stuck socket's buffers are full its queue fills in moments.
	cut := make(chan struct{})
	typing := make(chan struct{})
	go func() {
		defer close(typing)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for on := true; ; on = !on {
			select {
			case <-cut:
				return
			case <-tick.C:
			}
			for i := 0; i < 3; i++ { // about 300 a second: 512 in under 2s
				if err := agent.trySend(map[string]any{"type": "typing", "chat_id": chatID, "on": on}); err != nil {
					t.Errorf("typing: %v", err)
					return
				}
			}
		}
	}()
	total := int64(len(senders)*perSender + 1)
	// As soon as the server gives up on the stuck reader, it reads again:
	// it gets what was buffered, then the close frame.
	ok := waitUntil(20*time.Second, func() bool { return metricValue(t, n, "chatd_slow_consumers_total") >= 1 })
	close(cut)
	<-typing
	if !ok {
		t.Fatal("the stuck reader was never cut off as a slow consumer")
	}
	got, code := drainStuck(stuck)
	if int64(got) >= total {
		t.Errorf("the stuck reader received all %d messages", got)
	}
	if code != websocket.StatusTryAgainLater {
		t.Errorf("stuck reader closed with %d after %d frames, want 1013", code, got)
	}
	wg.Wait()
	agent.waitSeqs(chatID, total)
	for _, c := range senders {
		c.waitSeqs(chatID, total)
	}
	// Were the fan-out to wait on the stuck socket, every message would
	// wait out a write timeout and the flood would take many minutes.
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the flood took %v with a stuck reader attached", d)
	}
	checkSeqs(t, "agent", agentWithHistory(agent, chatID), chatID, 1, total)
	for i, c := range senders {
		if c.count("ack", nil) != perSender+btoi(i == 0) {
			t.Errorf("sender %d got %d acks, want %d", i, c.count("ack", nil), perSender)
		}
	}
	if !waitUntil(15*time.Second, func() bool { return metricValue(t, n, "chatd_connections") == conns-1 }) {
		t.Errorf("%v connections after the stuck reader was cut off, want %v", metricValue(t, n, "chatd_connections"), conns-1)
	}
	if slow := metricValue(t, n, "chatd_slow_consumers_total"); slow != 1 {
		t.Errorf("chatd_slow_consumers_total is %v for one slow connection", slow)
	}
	// The chat carries on for everyone else.
	agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": "done?"})
	for _, c := range senders {
		c.waitSeqs(chatID, total+1)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// dialStuck opens a socket whose TCP receive buffer is tiny and which is
// never read until drainStuck.
func dialStuck(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

// drainStuck reads until the connection ends and returns the number of
// message frames and the close code.
func drainStuck(ws *websocket.Conn) (int, websocket.StatusCode) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n := 0
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			return n, websocket.CloseStatus(err)
		}
		if strings.HasPrefix(string(b), `{"type":"message"`) {
			n++
		}
	}
}

// metricValue reads one unlabelled value from /metrics.
func metricValue(t *testing.T, n *node, name string) float64 {
	t.Helper()
	resp, err := http.Get(n.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// TestConnectionsPerAddress: past CHAT_CONNS_PER_IP open sockets from one
// address, the upgrade is refused with 429; a closed socket frees its place.
func TestConnectionsPerAddress(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t, "CHAT_CONNS_PER_IP", "3"))
	_, token := createVisitor(t, n)
	staff := createStaff(t, n, "Ece", "agent", []string{"general"}, 1)
	first, _ := dialVisitor(t, n, token)
	dialVisitor(t, n, token)
	dialStaff(t, n, staff, false)
	for _, path := range []string{"/ws/visitor?token=" + token, "/ws/agent?token=" + staff.token} {
		if status, code := dialStatus(t, wsURL(n, path), nil); status != 429 || code != "rate_limited" {
			t.Errorf("%s past the limit: %d %q, want 429 rate_limited", path[:9], status, code)
		}
	}
	first.drop()
	if !waitUntil(3*time.Second, func() bool {
		status, _ := dialStatus(t, wsURL(n, "/ws/visitor?token="+token), nil)
		return status == 0
	}) {
		t.Error("a closed socket did not free its place")
	}
}

// A request body trickled in too slowly is cut off at CHAT_REQUEST_TIMEOUT,
// while WebSockets (whose HTTP request is long over) live on past it.
func TestSlowRequestsAreCutOff(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t, "CHAT_REQUEST_TIMEOUT", "1s"))
	visitor, _ := newVisitor(t, n)

	conn, err := net.Dial("tcp", strings.TrimPrefix(n.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write([]byte("POST /api/v1/visitors HTTP/1.1\r\nHost: chatd\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReader(conn)
	for {
		if _, err := rd.ReadByte(); err != nil {
			break // closed by the server (or our own deadline, checked below)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a trickled request held its connection for %v", d)
	}

	time.Sleep(500 * time.Millisecond) // the socket is now older than the timeout
	startChat(t, visitor, "general", "still here?")
}
