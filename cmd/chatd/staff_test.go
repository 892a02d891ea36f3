package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/cmd/internal/server"

	"github.com/coder/websocket"
)

func TestLoginThrottleAndStaffAPI(t *testing.T) {
	n := startNode(t, clusterVars(t))
	var e server.ErrorBody
	for i := 0; i < 10; i++ {
		if code := api(t, "POST", n.url+"/api/v1/auth/login", "", map[string]string{"email": "admin@example.com", "password": "wrong"}, &e); code != 401 || e.Error.Code != "unauthorized" {
			t.Fatalf("attempt %d: %d %+v", i, code, e)
		}
	}
	// Past the limit even the right password is refused for a while.
	if code := api(t, "POST", n.url+"/api/v1/auth/login", "", map[string]string{"email": "admin@example.com", "password": "admin-password"}, &e); code != 429 || e.Error.Code != "too_many_attempts" {
		t.Fatalf("after 10 failures: %d %+v", code, e)
	}

	n2 := startNode(t, clusterVars(t))
	admin := login(t, n2, "admin@example.com", "admin-password")
	var created map[string]any
	body := map[string]any{"email": "sup@example.com", "password": "supervisor-pw", "name": "Sena", "units": []string{"account"}, "max_chats": 3, "role": "supervisor"}
	if code := api(t, "POST", n2.url+"/api/v1/agents", admin, body, &created); code != 201 || created["password_hash"] != nil {
		t.Fatalf("create: %d %v", code, created)
	}
	sup := login(t, n2, "sup@example.com", "supervisor-pw")
	tests := []struct {
		name, method, path, token string
		body                      any
		want                      int
		code                      string
	}{
		{"no token", "GET", "/api/v1/agents", "", nil, 401, "unauthorized"},
		{"bad token", "GET", "/api/v1/agents", "s_nope", nil, 401, "unauthorized"},
		{"supervisor cannot create", "POST", "/api/v1/agents", sup, body, 403, "forbidden"},
		{"duplicate email", "POST", "/api/v1/agents", admin, body, 409, "conflict"},
		{"unknown unit", "POST", "/api/v1/agents", admin, map[string]any{"email": "x@example.com", "password": "password-1", "name": "X", "units": []string{"sales"}, "max_chats": 3}, 400, "unknown_unit"},
		{"short password", "POST", "/api/v1/agents", admin, map[string]any{"email": "y@example.com", "password": "short", "name": "Y", "units": []string{"general"}, "max_chats": 3}, 400, "invalid_request"},
		{"capacity out of range", "PATCH", "/api/v1/agents/" + created["id"].(string), admin, map[string]any{"max_chats": 0}, 400, "invalid_request"},
		{"no such agent", "PATCH", "/api/v1/agents/nope", admin, map[string]any{"max_chats": 2}, 404, "not_found"},
		{"NUL in an agent's name", "POST", "/api/v1/agents", admin, map[string]any{"email": "z@example.com", "password": "password-1", "name": "Z\x00", "units": []string{"general"}, "max_chats": 3}, 400, "invalid_request"},
		{"NUL in a visitor's name", "POST", "/api/v1/visitors", "", map[string]any{"name": "V\x00"}, 400, "invalid_request"},
		{"NUL in a login", "POST", "/api/v1/auth/login", "", map[string]any{"email": "admin@example.com\x00", "password": "x"}, 400, "invalid_request"},
		{"NUL in an API key's name", "POST", "/api/v1/apikeys", admin, map[string]any{"name": "k\x00"}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e server.ErrorBody
			if code := api(t, tt.method, n2.url+tt.path, tt.token, tt.body, &e); code != tt.want || e.Error.Code != tt.code {
				t.Fatalf("%d %+v, want %d %s", code, e, tt.want, tt.code)
			}
		})
	}
	var list struct{ Items []map[string]any }
	if code := api(t, "GET", n2.url+"/api/v1/agents", sup, nil, &list); code != 200 || len(list.Items) != 2 {
		t.Fatalf("supervisor list: %d %v", code, list) // admin (all units) and the supervisor
	}
	var patched map[string]any
	if code := api(t, "PATCH", n2.url+"/api/v1/agents/"+created["id"].(string), admin, map[string]any{"max_chats": 7, "disabled": true}, &patched); code != 200 || patched["max_chats"] != 7.0 || patched["disabled"] != true {
		t.Fatalf("patch: %d %v", code, patched)
	}
	if code := api(t, "GET", n2.url+"/api/v1/auth/me", sup, nil, nil); code != 401 {
		t.Fatalf("disabled supervisor's session still works: %d", code)
	}
	req, _ := http.NewRequest("POST", n2.url+"/api/v1/auth/logout", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("logout: %v %v", resp, err)
	}
	if code := api(t, "GET", n2.url+"/api/v1/auth/me", admin, nil, nil); code != 401 {
		t.Fatalf("token works after logout: %d", code)
	}
}

func TestConnectionsPerAddressCapped(t *testing.T) {
	n := startNode(t, clusterVars(t, "CHAT_CONNS_PER_IP", "2"))
	v1, tok := newVisitor(t, n)
	_ = v1
	dial(t, wsURL(n, "/ws/visitor?token="+tok), nil).expect("hello", nil)
	resp, err := http.Get(n.url + "/ws/visitor?token=" + tok) // a third upgrade attempt, as plain HTTP
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 {
		t.Fatalf("third socket from one address: %d, want 429", resp.StatusCode)
	}
}

// A client cannot pick its own address with X-Forwarded-For: the
// per-address limits hold unless the peer is a trusted proxy.
func TestForwardedForNeedsATrustedProxy(t *testing.T) {
	tests := []struct {
		name    string
		trusted string
		want    int // third socket's status
	}{
		{"untrusted header ignored", "", 429},
		{"trusted proxy's header believed", "127.0.0.1", 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := startNode(t, clusterVars(t, "CHAT_CONNS_PER_IP", "2", "CHAT_TRUSTED_PROXIES", tt.trusted))
			_, tok := newVisitor(t, n)
			dial(t, wsURL(n, "/ws/visitor?token="+tok), nil).expect("hello", nil)
			h := http.Header{"X-Forwarded-For": {"203.0.113.7"}}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ws, resp, err := websocket.Dial(ctx, wsURL(n, "/ws/visitor?token="+tok), &websocket.DialOptions{HTTPHeader: h})
			if ws != nil {
				ws.Close(websocket.StatusNormalClosure, "")
			}
			if resp == nil || resp.StatusCode != tt.want {
				t.Fatalf("third socket with X-Forwarded-For: %v %v, want status %d", resp, err, tt.want)
			}
		})
	}
}

// An admin giving an online agent another unit hands them that unit's
// waiting chat at once.
func TestNewUnitTakesWaitingChat(t *testing.T) {
	n := startNode(t, clusterVars(t))
	agent, agentID := newAgent(t, n, "Ece", []string{"general"}, 2)
	visitor, _ := newVisitor(t, n)
	chatID := visitor.call(map[string]any{"type": "chat.start", "unit": "technical", "text": "the app crashes", "age_confirmed": true}).str("chat_id")
	visitor.expect("chat.queued", nil)
	admin := login(t, n, "admin@example.com", "admin-password")
	if code := api(t, "PATCH", n.url+"/api/v1/agents/"+agentID, admin, map[string]any{"units": []string{"general", "technical"}}, nil); code != 200 {
		t.Fatalf("patch units: %d", code)
	}
	agent.expect("chat.assigned", func(f frame) bool { return f.str("chat_id") == chatID })
	visitor.expect("chat.assigned", nil)
}

func TestAPIKeysByAdminOnly(t *testing.T) {
	n := startNode(t, clusterVars(t))
	admin := login(t, n, "admin@example.com", "admin-password")
	var key struct{ ID, Key string }
	if code := api(t, "POST", n.url+"/api/v1/apikeys", admin, map[string]string{"name": "crm"}, &key); code != 201 || key.ID == "" || !strings.HasPrefix(key.Key, "ck_") {
		t.Fatalf("create: %d %+v", code, key)
	}
	if _, err := n.DB.APIKey(context.Background(), key.Key); err != nil {
		t.Fatalf("the key does not verify: %v", err)
	}
	agent := createStaff(t, n, "Ece", "agent", []string{"general"}, 2)
	var e server.ErrorBody
	if code := api(t, "POST", n.url+"/api/v1/apikeys", agent.token, map[string]string{"name": "x"}, &e); code != 403 || e.Error.Code != "forbidden" {
		t.Fatalf("agent made a key: %d %+v", code, e)
	}
	if code := api(t, "POST", n.url+"/api/v1/apikeys", admin, map[string]string{"name": " "}, &e); code != 400 || e.Error.Code != "invalid_request" {
		t.Fatalf("blank name: %d %+v", code, e)
	}
}

func TestAuditLogForAdmins(t *testing.T) {
	vars := clusterVars(t)
	n := startNode(t, vars)
	if err := run(context.Background(), []string{"purge", "--older-than", "1h"}, testEnv(vars), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	admin := login(t, n, "admin@example.com", "admin-password")
	var page struct {
		Items []map[string]any
	}
	if code := api(t, "GET", n.url+"/api/v1/audit?limit=10&action=purge", admin, nil, &page); code != 200 || len(page.Items) != 1 || page.Items[0]["actor_id"] != "cli" {
		t.Fatalf("audit: %d %+v", code, page)
	}
	agent := createStaff(t, n, "Ece", "supervisor", []string{"general"}, 2)
	if code := api(t, "GET", n.url+"/api/v1/audit", agent.token, nil, nil); code != 403 {
		t.Fatalf("supervisor read the audit log: %d", code)
	}
}

// Disabling an agent closes their consoles on every node with 4001.
func TestDisableClosesSocketsEverywhere(t *testing.T) {
	vars := clusterVars(t)
	a, b := startNode(t, vars), startNode(t, vars)
	ece := createStaff(t, a, "Ece", "agent", []string{"general"}, 2)
	onA, _ := dialStaff(t, a, ece, true)
	onB, _ := dialStaff(t, b, ece, false)
	admin := login(t, a, "admin@example.com", "admin-password")
	if code := api(t, "PATCH", a.url+"/api/v1/agents/"+ece.id, admin, map[string]any{"disabled": true}, nil); code != 200 {
		t.Fatalf("disable: %d", code)
	}
	for name, c := range map[string]*wsClient{"node A": onA, "node B": onB} {
		if code := c.closed(); code != 4001 {
			t.Errorf("%s: closed with %d, want 4001", name, code)
		}
	}
}

func TestUnitsReportAgentsOnline(t *testing.T) {
	n := startNode(t, clusterVars(t))
	online := func() map[string]float64 {
		var body struct{ Units []map[string]any }
		if code := api(t, "GET", n.url+"/api/v1/units", "", nil, &body); code != 200 {
			t.Fatalf("units: %d", code)
		}
		out := map[string]float64{}
		for _, u := range body.Units {
			out[u["name"].(string)] = u["agents_online"].(float64)
		}
		return out
	}
	if got := online(); len(got) != 4 || got["technical"] != 0 {
		t.Fatalf("before any agent: %v", got)
	}
	newAgent(t, n, "Ece", []string{"technical"}, 2)
	if got := online(); got["technical"] != 1 || got["general"] != 0 {
		t.Fatalf("with one technical agent online: %v", got)
	}
}

// A JSON body is read as JSON whatever Content-Type came with it (curl -d
// sends a form type), and form fields work too.
func TestLoginBodies(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t))
	for _, tt := range []struct {
		name, contentType, body string
		want                    int
	}{
		{"JSON", "application/json", `{"email":"admin@example.com","password":"admin-password"}`, 200},
		{"JSON sent as a form", "application/x-www-form-urlencoded", `{"email":"admin@example.com","password":"admin-password"}`, 200},
		{"JSON without a type", "", ` {"email":"admin@example.com","password":"admin-password"}`, 200},
		{"form fields", "application/x-www-form-urlencoded", "email=admin%40example.com&password=admin-password", 200},
		{"JSON without a password", "application/json", `{"email":"admin@example.com"}`, 400},
		{"not JSON", "application/json", `email please`, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", n.url+"/api/v1/auth/login", strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, tt.want)
			}
		})
	}
}

// Attempts are counted before the password is checked: a burst of parallel
// wrong logins gets exactly the limit's worth of password checks, the rest
// 429 at once.
func TestLoginLimitHoldsUnderParallelAttempts(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t))
	const tries = 30
	codes := make(chan int, tries)
	var wg sync.WaitGroup
	for range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- api(t, "POST", n.url+"/api/v1/auth/login", "", map[string]string{"email": "admin@example.com", "password": "wrong"}, nil)
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[401] != 10 || count[429] != tries-10 {
		t.Fatalf("answers %v, want 10x 401 and %dx 429", count, tries-10)
	}
}

// An oversized body is refused with 413 whether or not it says its size.
func TestOversizedBodies(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t))
	big := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = io.MultiReader(body) // no length known: sent chunked
		}
		req, _ := http.NewRequest("POST", n.url+"/api/v1/visitors", body)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e server.ErrorBody
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 413 || e.Error.Code != "payload_too_large" {
			t.Errorf("chunked=%v: %d %+v, want 413 payload_too_large", chunked, resp.StatusCode, e)
		}
	}
}

// TestCLIDisableEndsTheConsole: `chatd agents disable` closes the agent's
// open consoles (4001) and takes them out of assignment: at once when it
// shares the cluster's Redis, and within a heartbeat when it does not (the
// nodes see the ended sessions in the database).
func TestCLIDisableEndsTheConsole(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		withRedis bool
		within    time.Duration
	}{
		{"sharing the cluster's Redis", true, 3 * time.Second},
		{"database only", false, 12 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vars := clusterVars(t)
			n := startNode(t, vars)
			ece := createStaff(t, n, "Ece", "agent", []string{"technical"}, 2)
			c, _ := dialStaff(t, n, ece, true)
			if got := agentsOnline(t, n, "technical"); got != 1 {
				t.Fatalf("agents online before: %v", got)
			}
			cli := maps.Clone(vars)
			if !tt.withRedis {
				delete(cli, "CHAT_REDIS_URL")
			}
			var out bytes.Buffer
			if err := run(context.Background(), []string{"agents", "disable", "--email", ece.email}, testEnv(cli), &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			select {
			case <-c.done:
			case <-time.After(tt.within):
				t.Fatalf("the console is still open %v after the disable", tt.within)
			}
			if code := websocket.CloseStatus(c.err); code != 4001 {
				t.Errorf("closed with %d, want 4001", code)
			}
			if !waitUntil(5*time.Second, func() bool { return agentsOnline(t, n, "technical") == 0 }) {
				t.Error("the disabled agent still counts as online")
			}
			v, _ := newVisitor(t, n)
			id := startChat(t, v, "technical", "my app crashes")
			if q := v.expect("chat.queued", forChat(id)); q.num("position") != 1 {
				t.Errorf("new chat: %v", q)
			}
			if code := api(t, "GET", n.url+"/api/v1/auth/me", ece.token, nil, nil); code != 401 {
				t.Errorf("the disabled agent's session answers %d", code)
			}
		})
	}
}

func agentsOnline(t *testing.T, n *node, unit string) float64 {
	t.Helper()
	var body struct{ Units []map[string]any }
	if code := api(t, "GET", n.url+"/api/v1/units", "", nil, &body); code != 200 {
		t.Fatalf("units: %d", code)
	}
	for _, u := range body.Units {
		if u["name"] == unit {
			return u["agents_online"].(float64)
		}
	}
	return -1
}

// TestCLIPasswdEndsSessionsOnEveryNode: `chatd agents passwd` sets a new
// password, ends the account's sessions and closes its consoles on every
// node of the cluster at once (4001), as the REST path does; the old
// password and token are refused, the new password logs in, and the
// change is audited without the password.
func TestCLIPasswdEndsSessionsOnEveryNode(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	n1 := startNode(t, vars)
	n2 := startNode(t, vars)
	ece := createStaff(t, n1, "Ece", "agent", []string{"technical"}, 2)
	c1, _ := dialStaff(t, n1, ece, true)
	c2 := dial(t, wsURL(n2, "/ws/agent?token="+ece.token), nil)
	c2.expect("hello", nil)
	out, err := cli(t, vars, "agents", "passwd", "--email", ece.email, "--password", "new-secret-9")
	if err != nil || !strings.Contains(out, "new password for "+ece.email) {
		t.Fatalf("passwd: %v %q", err, out)
	}
	for i, c := range []*wsClient{c1, c2} {
		select {
		case <-c.done:
		case <-time.After(3 * time.Second):
			t.Fatalf("the console on node %d is still open 3s after the new password", i+1)
		}
		if code := websocket.CloseStatus(c.err); code != 4001 {
			t.Errorf("node %d: closed with %d, want 4001", i+1, code)
		}
	}
	if code := api(t, "GET", n2.url+"/api/v1/auth/me", ece.token, nil, nil); code != 401 {
		t.Errorf("the old session answers %d", code)
	}
	if code := api(t, "POST", n1.url+"/api/v1/auth/login", "", map[string]string{"email": ece.email, "password": "agent-password"}, nil); code != 401 {
		t.Errorf("the old password: %d", code)
	}
	login(t, n2, ece.email, "new-secret-9")
	rows, err := n1.DB.AuditLog(context.Background(), chat.AuditQuery{ObjectID: ece.id, Action: "agent.changed", Limit: 10})
	if err != nil || len(rows) != 1 || rows[0].ActorID != "cli" || strings.Contains(rows[0].Detail, "new-secret") {
		t.Errorf("audit of the change: %v %+v", err, rows)
	}
	if out, err := cli(t, vars, "agents", "passwd", "--email", ece.email, "--password", "short"); err == nil {
		t.Errorf("a short password was taken: %q", out)
	}
	if out, err := cli(t, vars, "agents", "passwd", "--email", ece.email); err == nil || !strings.Contains(err.Error(), "--password") {
		t.Errorf("no password: %v %q", err, out)
	}
}
