package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/cmd/internal/server"
	"github.com/chatd/chatd/store"
)

// End-to-end tests of who sees what, what is recorded and what is kept:
// the audit trail and its chain, visitor tokens (expiry, revocation,
// identity across devices), the console's cookies and CSRF checks, tokens
// used where they do not belong, masking in every live channel, and no
// customer text in the logs.

// rawDB opens the node's database behind chatd's back, as an intruder with
// database access would.
func rawDB(t *testing.T, n *node) *sql.DB {
	t.Helper()
	u := n.Cfg.DatabaseURL
	driver, dsn := "pgx", u
	if p, ok := strings.CutPrefix(u, "sqlite:"); ok {
		driver, dsn = "sqlite", "file:"+p+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rebind writes q's ? placeholders as the node's database wants them.
func rebind(n *node, q string) string {
	if n.DB.Engine() == store.Postgres {
		return sqlx.Rebind(sqlx.DOLLAR, q)
	}
	return q
}

// cli runs a chatd subcommand with vars and returns its output.
func cli(t *testing.T, vars map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, testEnv(vars), &out, &errOut)
	return out.String() + errOut.String(), err
}

type auditPage struct {
	Items      []map[string]any `json:"items"`
	NextCursor string           `json:"next_cursor"`
}

func auditQuery(t *testing.T, n *node, token, query string) []map[string]any {
	t.Helper()
	var page auditPage
	if code := api(t, "GET", n.url+"/api/v1/audit?"+query, token, nil, &page); code != 200 {
		t.Fatalf("audit ?%s: %d", query, code)
	}
	return page.Items
}

func actions(rows []map[string]any) []string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprint(r["action"]))
	}
	return out
}

// TestAuditTrail: logins and failed logins, every admin action (REST and
// command line), a supervisor's look at a chat not theirs and a refused
// look, and purges are in the audit log, filterable; `chatd audit verify`
// passes, and names the row an intruder changed.
func TestAuditTrail(t *testing.T) {
	vars := clusterVars(t)
	n := startNode(t, vars)
	var e server.ErrorBody
	if code := api(t, "POST", n.url+"/api/v1/auth/login", "", map[string]string{"email": "admin@example.com", "password": "wrong-password"}, &e); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	for i := range 11 { // 10 refused, then the throttle
		code := api(t, "POST", n.url+"/api/v1/auth/login", "", map[string]string{"email": "nobody@example.com", "password": "Secret-typed-here"}, nil)
		if want := map[bool]int{true: 429, false: 401}[i == 10]; code != want {
			t.Fatalf("unknown email, attempt %d: %d, want %d", i, code, want)
		}
	}
	admin := login(t, n, "admin@example.com", "admin-password")
	var me map[string]any
	api(t, "GET", n.url+"/api/v1/auth/me", admin, nil, &me)
	adminID := me["id"].(string)

	var created map[string]any
	if code := api(t, "POST", n.url+"/api/v1/agents", admin, map[string]any{"email": "ece@example.com", "password": "ece-password-1", "name": "Ece", "units": []string{"general"}, "max_chats": 5}, &created); code != 201 {
		t.Fatalf("create agent: %d", code)
	}
	eceID := created["id"].(string)
	if code := api(t, "PATCH", n.url+"/api/v1/agents/"+eceID, admin, map[string]any{"max_chats": 7, "password": "new-secret-pw"}, nil); code != 200 {
		t.Fatalf("patch agent: %d", code)
	}
	var key struct{ ID, Key string }
	if code := api(t, "POST", n.url+"/api/v1/apikeys", admin, map[string]string{"name": "crm"}, &key); code != 201 {
		t.Fatalf("api key: %d", code)
	}

	// A supervisor looks into a waiting chat; an agent of another unit tries.
	v, _ := newVisitor(t, n)
	chatID := startChat(t, v, "general", "where is my order?")
	sup := createStaff(t, n, "Sena", "supervisor", []string{"general"}, 3)
	supC, _ := dialStaff(t, n, sup, false)
	supC.send(map[string]any{"type": "resume", "chat_id": chatID, "after_seq": 0})
	supC.expect("message", bySeq(chatID, 1))
	tom := createStaff(t, n, "Tom", "agent", []string{"technical"}, 3)
	tomC, _ := dialStaff(t, n, tom, false)
	tomC.send(map[string]any{"type": "resume", "chat_id": chatID, "after_seq": 0})
	if code := tomC.nextErr().str("code"); code != "not_found" {
		t.Fatalf("another unit's agent: %q", code)
	}
	tomC.send(map[string]any{"type": "resume", "chat_id": "no-such-chat", "after_seq": 0})
	tomC.nextErr()

	if out, err := cli(t, vars, "purge", "--older-than", "1h"); err != nil {
		t.Fatalf("purge: %v %s", err, out)
	}
	if out, err := cli(t, vars, "agents", "create", "--email", "can@example.com", "--password", "can-password-1", "--name", "Can"); err != nil {
		t.Fatalf("cli create: %v %s", err, out)
	}

	failed := auditQuery(t, n, admin, "action=auth.login_failed&limit=100")
	if len(failed) != 11 {
		t.Fatalf("%d failed logins recorded, want 11: %v", len(failed), failed)
	}
	wrongPw := failed[len(failed)-1] // the oldest
	if wrongPw["object_id"] != adminID || wrongPw["actor_kind"] != "anonymous" || wrongPw["actor_id"] != "127.0.0.1" || wrongPw["detail"] != "wrong password" {
		t.Errorf("failed login of the admin: %v", wrongPw)
	}
	if failed[0]["object_id"] != "" || failed[0]["detail"] != "unknown account" {
		t.Errorf("failed login of an unknown email: %v", failed[0])
	}
	if rows := auditQuery(t, n, admin, "action=auth.login_throttled"); len(rows) != 1 {
		t.Errorf("throttled logins recorded: %v, want one", rows)
	}
	if rows := auditQuery(t, n, admin, "action=auth.login&actor="+adminID); len(rows) != 1 || rows[0]["object_id"] != adminID || rows[0]["detail"] != "ip=127.0.0.1" {
		t.Errorf("the admin's login: %v", rows)
	}
	agentRows := auditQuery(t, n, admin, "action=agent.*")
	if got := strings.Join(actions(agentRows), ","); got != "agent.created,agent.changed,agent.created" {
		t.Fatalf("agent actions %s", got)
	}
	if r := agentRows[0]; r["actor_kind"] != "system" || r["actor_id"] != "cli" {
		t.Errorf("the command line's agent: %v", r)
	}
	if r := agentRows[1]; r["actor_id"] != adminID || r["object_id"] != eceID || r["detail"] != "max_chats: 5 -> 7; password changed" {
		t.Errorf("the change: %v", r)
	}
	if r := agentRows[2]; r["actor_id"] != adminID || !strings.Contains(fmt.Sprint(r["detail"]), "role=agent units=general") {
		t.Errorf("the creation: %v", r)
	}
	if rows := auditQuery(t, n, admin, "action=apikey.created"); len(rows) != 1 || rows[0]["object_id"] != key.ID || rows[0]["detail"] != "name=crm" {
		t.Errorf("key creation: %v", rows)
	}
	if rows := auditQuery(t, n, admin, "object="+chatID); strings.Join(actions(rows), ",") != "chat.view_denied,chat.viewed" {
		t.Errorf("looks at the chat: %v", rows)
	} else if rows[1]["actor_id"] != sup.id || rows[0]["actor_id"] != tom.id {
		t.Errorf("who looked: %v", rows)
	}
	if rows := auditQuery(t, n, admin, "action=purge"); len(rows) != 1 || rows[0]["actor_id"] != "cli" {
		t.Errorf("purge: %v", rows)
	}
	if rows := auditQuery(t, n, admin, "actor_kind=system"); strings.Join(actions(rows), ",") != "agent.created,purge" {
		t.Errorf("the system's rows: %v", actions(rows))
	}
	if rows := auditQuery(t, n, admin, "from="+url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))); len(rows) != 0 {
		t.Errorf("rows from the future: %v", rows)
	}
	// Nothing typed as a password or an unknown email, and no key, is kept.
	all := auditQuery(t, n, admin, "limit=1000")
	raw, _ := json.Marshal(all)
	for _, secret := range []string{"nobody@example.com", "Secret-typed-here", "new-secret-pw", "wrong-password", key.Key} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the audit log holds %q", secret)
		}
	}
	// Pages of 3 give every row once, newest first.
	seen, cursor := map[string]bool{}, ""
	var last float64 = 1 << 52
	for range 100 {
		var page auditPage
		api(t, "GET", n.url+"/api/v1/audit?limit=3&cursor="+cursor, admin, nil, &page)
		for _, r := range page.Items {
			if seen[r["id"].(string)] || r["seq"].(float64) >= last {
				t.Fatalf("row %v out of order or twice", r)
			}
			seen[r["id"].(string)], last = true, r["seq"].(float64)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != len(all) {
		t.Errorf("paged through %d rows of %d", len(seen), len(all))
	}
	for _, q := range []string{"from=yesterday", "action=a%25b", "action=*", "limit=0", "limit=1001", "cursor=-1", "cursor=abc", "to=2026-01-01T00:00:00Z&from=2027-01-01T00:00:00Z"} {
		if code := api(t, "GET", n.url+"/api/v1/audit?"+q, admin, nil, &e); code != 400 || e.Error.Code != "invalid_request" {
			t.Errorf("?%s: %d %+v, want 400", q, code, e)
		}
	}
	// No route changes or deletes a row.
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		if code := api(t, m, n.url+"/api/v1/audit", admin, map[string]any{}, nil); code != 405 {
			t.Errorf("%s /api/v1/audit: %d, want 405", m, code)
		}
	}

	out, err := cli(t, vars, "audit", "verify")
	if err != nil || !strings.Contains(out, "audit log verified: ") {
		t.Fatalf("verify: %v %s", err, out)
	}
	db := rawDB(t, n)
	if _, err := db.Exec(rebind(n, "UPDATE audit SET detail = ? WHERE seq = 3"), "nothing happened"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli(t, vars, "audit", "verify"); err == nil || !strings.Contains(err.Error(), "audit row 3 ") || !strings.Contains(err.Error(), "altered") {
		t.Fatalf("verify after a change: %v", err)
	}
}

// TestVisitorTokenExpiryAndRevocation: a token used now and then outlives
// its TTL; one left unused expires; a revoked one is refused on every node
// at once and its sockets close there.
func TestVisitorTokenExpiryAndRevocation(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t, "CHAT_VISITOR_TOKEN_TTL", "3s")
	a, b := startNode(t, vars), startNode(t, vars)
	_, tok := createVisitor(t, a)
	// Used every 300 ms for 4.5 s: half again the TTL, and still valid.
	for start := time.Now(); time.Since(start) < 4500*time.Millisecond; time.Sleep(300 * time.Millisecond) {
		if status, code := dialStatus(t, wsURL(b, "/ws/visitor?token="+tok), nil); status != 0 {
			t.Fatalf("a token in use was refused after %v: %d %s", time.Since(start), status, code)
		}
	}
	// Left alone past the TTL it is refused, by the socket and by REST.
	time.Sleep(4 * time.Second)
	if status, code := dialStatus(t, wsURL(a, "/ws/visitor?token="+tok), nil); status != 401 || code != "unauthorized" {
		t.Fatalf("an expired token opened a socket: %d %s", status, code)
	}
	var e server.ErrorBody
	if code := api(t, "POST", b.url+"/api/v1/visitor/logout", tok, nil, &e); code != 401 || !strings.Contains(e.Error.Message, "expired") {
		t.Fatalf("an expired token on REST: %d %+v", code, e)
	}

	// Revocation: two tabs on two nodes hold the token; it is revoked on one.
	_, tok = createVisitor(t, a)
	tabA, _ := dialVisitor(t, a, tok)
	tabB, _ := dialVisitor(t, b, tok)
	chatID := startChat(t, tabA, "general", "hello")
	if code := api(t, "POST", b.url+"/api/v1/visitor/logout", tok, nil, nil); code != 204 {
		t.Fatalf("logout: %d", code)
	}
	for name, c := range map[string]*wsClient{"tab on A": tabA, "tab on B": tabB} {
		if code := c.closed(); code != 4001 {
			t.Errorf("%s closed with %d, want 4001", name, code)
		}
	}
	for _, n := range []*node{a, b} {
		if status, _ := dialStatus(t, wsURL(n, "/ws/visitor?token="+tok), nil); status != 401 {
			t.Errorf("the revoked token opened a socket: %d", status)
		}
		if code := api(t, "GET", n.url+"/api/v1/visitor/token", tok, nil, nil); code != 401 {
			t.Errorf("the revoked token is said to be valid: %d", code)
		}
	}
	if code := api(t, "POST", a.url+"/api/v1/visitor/logout", tok, nil, nil); code != 401 {
		t.Errorf("a second logout: %d", code)
	}
	// The chat stays on record (the visitor left, the desk still has it).
	if _, err := a.DB.Chat(context.Background(), chatID); err != nil {
		t.Errorf("the chat after the logout: %v", err)
	}
}

func userHash(secret, id string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil))
}

// TestIdentityVerification: a customer the site signs in is the same
// visitor on every device (their open chat follows them); forgetting one
// device leaves the others; a wrong or missing signature is refused, and
// a site can require one.
func TestIdentityVerification(t *testing.T) {
	t.Parallel()
	const secret = "site-secret-0123456789"
	vars := clusterVars(t, "CHAT_IDENTITY_SECRET", secret)
	a, b := startNode(t, vars), startNode(t, vars)
	signed := map[string]string{"user_id": "customer-42", "user_hash": userHash(secret, "customer-42"), "name": "Ayşe"}
	var dev1, dev2 map[string]string
	if code := api(t, "POST", a.url+"/api/v1/visitors", "", signed, &dev1); code != 201 {
		t.Fatalf("device 1: %d", code)
	}
	if code := api(t, "POST", b.url+"/api/v1/visitors", "", signed, &dev2); code != 201 {
		t.Fatalf("device 2: %d", code)
	}
	if dev1["visitor_id"] != dev2["visitor_id"] || dev1["token"] == dev2["token"] {
		t.Fatalf("two devices: %v and %v; want one visitor, two tokens", dev1, dev2)
	}
	agent, _ := newAgent(t, a, "Ece", []string{"general"}, 2)
	phone, _ := dialVisitor(t, a, dev1["token"])
	chatID := startChat(t, phone, "general", "my withdrawal is late")
	if v, _ := agent.expect("chat.assigned", forChat(chatID))["visitor"].(map[string]any); v["user_id"] != "customer-42" || v["name"] != "Ayşe" {
		t.Errorf("the agent sees the customer as %v", v)
	}
	laptop, hello := dialVisitor(t, b, dev2["token"])
	if c, _ := hello["chat"].(map[string]any); c == nil || c["id"] != chatID {
		t.Fatalf("the second device's hello: %v; want the open chat %s", hello, chatID)
	}
	laptop.send(map[string]any{"type": "resume", "chat_id": chatID, "after_seq": 0})
	laptop.expect("message", bySeq(chatID, 1))
	laptop.call(map[string]any{"type": "message", "chat_id": chatID, "text": "from the laptop"})
	phone.expect("message", bySeq(chatID, 2))
	// Forgetting the phone leaves the laptop signed in.
	if code := api(t, "POST", a.url+"/api/v1/visitor/logout", dev1["token"], nil, nil); code != 204 {
		t.Fatalf("logout: %d", code)
	}
	if code := phone.closed(); code != 4001 {
		t.Errorf("the phone closed with %d", code)
	}
	if ack := laptop.call(map[string]any{"type": "message", "chat_id": chatID, "text": "still here"}); ack.num("seq") != 3 {
		t.Errorf("the laptop after the phone was forgotten: %v", ack)
	}
	// Someone else's signature, or none, is refused.
	anon := startNode(t, clusterVars(t)) // no secret configured
	required := startNode(t, clusterVars(t, "CHAT_IDENTITY_SECRET", secret, "CHAT_IDENTITY_REQUIRED", "1"))
	for _, tt := range []struct {
		name string
		n    *node
		body map[string]string
		want int
		code string
	}{
		{"a wrong hash", a, map[string]string{"user_id": "customer-42", "user_hash": userHash(secret, "customer-43")}, 401, "identity_invalid"},
		{"a hash with another secret", a, map[string]string{"user_id": "customer-42", "user_hash": userHash("another-secret-000", "customer-42")}, 401, "identity_invalid"},
		{"an id without a hash", a, map[string]string{"user_id": "customer-42"}, 401, "identity_invalid"},
		{"no secret configured", anon, signed, 401, "identity_invalid"},
		{"anonymous where identity is required", required, map[string]string{}, 401, "identity_required"},
		{"signed where identity is required", required, signed, 201, ""},
		{"anonymous where it is optional", a, map[string]string{}, 201, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var e server.ErrorBody
			if code := api(t, "POST", tt.n.url+"/api/v1/visitors", "", tt.body, &e); code != tt.want || e.Error.Code != tt.code {
				t.Fatalf("%d %+v, want %d %s", code, e, tt.want, tt.code)
			}
		})
	}
	if _, err := server.LoadConfig(testEnv(map[string]string{"CHAT_IDENTITY_REQUIRED": "1"}), newFlags("x", "", io.Discard), nil); err == nil || !strings.Contains(err.Error(), "CHAT_IDENTITY_SECRET") {
		t.Errorf("identity required without a secret: %v", err)
	}
}

// consoleLogin logs in as a browser would and returns the response's
// cookies by name and the body's csrf_token.
func consoleLogin(t *testing.T, n *node, header http.Header) (map[string]*http.Cookie, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", n.url+"/api/v1/auth/login", strings.NewReader(`{"email":"admin@example.com","password":"admin-password"}`))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		CSRF string `json:"csrf_token"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	out := map[string]*http.Cookie{}
	for _, ck := range resp.Cookies() {
		out[ck.Name] = ck
	}
	return out, body.CSRF
}

// call makes a request with the given headers and returns its status and
// error code.
func call(t *testing.T, method, url string, header http.Header, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e server.ErrorBody
	json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error.Code
}

// TestConsoleCookiesAndCSRF: the session cookie is HttpOnly, SameSite and
// Secure over TLS (a trusted proxy's word included); a change made with it
// needs the CSRF token and chatd's own origin; a bearer token needs
// neither; a login from another site is refused.
func TestConsoleCookiesAndCSRF(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t, "CHAT_TRUSTED_PROXIES", "127.0.0.1"))
	cks, csrf := consoleLogin(t, n, nil)
	sess, csrfCk := cks["chatd_session"], cks["chatd_csrf"]
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure {
		t.Fatalf("session cookie over plain HTTP: %+v", sess)
	}
	if csrfCk == nil || csrfCk.HttpOnly || csrfCk.SameSite != http.SameSiteStrictMode || csrfCk.Value != csrf || csrf == "" {
		t.Fatalf("csrf cookie %+v, body token %q", csrfCk, csrf)
	}
	if cks, _ := consoleLogin(t, n, http.Header{"X-Forwarded-Proto": {"https"}}); !cks["chatd_session"].Secure || !cks["chatd_csrf"].Secure {
		t.Errorf("behind a trusted TLS proxy the cookies are not Secure")
	}
	untrusting := startNode(t, clusterVars(t))
	if cks, _ := consoleLogin(t, untrusting, http.Header{"X-Forwarded-Proto": {"https"}}); cks["chatd_session"].Secure {
		t.Errorf("anyone's X-Forwarded-Proto made the cookie Secure")
	}

	ece := createStaff(t, n, "Ece", "agent", []string{"general"}, 2)
	patch := n.url + "/api/v1/agents/" + ece.id
	cookie := "chatd_session=" + sess.Value
	_, otherCSRF := consoleLogin(t, n, nil)
	for _, tt := range []struct {
		name   string
		header http.Header
		want   int
		code   string
	}{
		{"cookie alone", http.Header{"Cookie": {cookie}}, 403, "csrf_failed"},
		{"cookie, token of another session", http.Header{"Cookie": {cookie}, "X-Csrf-Token": {otherCSRF}}, 403, "csrf_failed"},
		{"cookie and token from another site", http.Header{"Cookie": {cookie}, "X-Csrf-Token": {csrf}, "Origin": {"https://evil.example"}}, 403, "csrf_failed"},
		{"cookie and token, cross-site fetch", http.Header{"Cookie": {cookie}, "X-Csrf-Token": {csrf}, "Sec-Fetch-Site": {"cross-site"}}, 403, "csrf_failed"},
		{"cookie and token from the console", http.Header{"Cookie": {cookie}, "X-Csrf-Token": {csrf}, "Origin": {n.url}, "Sec-Fetch-Site": {"same-origin"}}, 200, ""},
		{"cookie and token, not a browser", http.Header{"Cookie": {cookie}, "X-Csrf-Token": {csrf}}, 200, ""},
		{"bearer token from anywhere", http.Header{"Authorization": {"Bearer " + sess.Value}, "Origin": {"https://evil.example"}}, 200, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if status, code := call(t, "PATCH", patch, tt.header, `{"max_chats":3}`); status != tt.want || code != tt.code {
				t.Fatalf("%d %s, want %d %s", status, code, tt.want, tt.code)
			}
		})
	}
	// A read with the cookie needs no token.
	if status, _ := call(t, "GET", n.url+"/api/v1/agents", http.Header{"Cookie": {cookie}}, ""); status != 200 {
		t.Errorf("a read with the cookie: %d", status)
	}
	// Logging out with the cookie is a change too: another site cannot end
	// the session.
	if status, code := call(t, "POST", n.url+"/api/v1/auth/logout", http.Header{"Cookie": {cookie}, "Origin": {"https://evil.example"}}, ""); status != 403 || code != "csrf_failed" {
		t.Errorf("a cross-site logout: %d %s", status, code)
	}
	if status, _ := call(t, "GET", n.url+"/api/v1/auth/me", http.Header{"Cookie": {cookie}}, ""); status != 200 {
		t.Errorf("the session after a refused cross-site logout: %d", status)
	}
	// Another site cannot sign the browser in to an account of its choosing.
	if status, code := call(t, "POST", n.url+"/api/v1/auth/login", http.Header{"Origin": {"https://evil.example"}},
		`{"email":"admin@example.com","password":"admin-password"}`); status != 403 || code != "csrf_failed" {
		t.Errorf("a cross-site login: %d %s", status, code)
	}
	// A console whose CSRF cookie is gone gets it back from /auth/me.
	req, _ := http.NewRequest("GET", n.url+"/api/v1/auth/me", nil)
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var again *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "chatd_csrf" {
			again = ck
		}
	}
	if again == nil || again.Value != csrf {
		t.Errorf("/auth/me without the CSRF cookie set %+v, want %q", again, csrf)
	}
}

// TestCrossSiteWebSocketHijacking: a page of another site cannot open the
// agent socket with the session cookie the browser sends along.
func TestCrossSiteWebSocketHijacking(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t, "CHAT_ALLOWED_ORIGINS", "https://shop.example"))
	ece := createStaff(t, n, "Ece", "agent", []string{"general"}, 2)
	cookie := "chatd_session=" + ece.token
	for _, tt := range []struct {
		name   string
		origin string
		want   int
	}{
		{"another site", "https://evil.example", 403},
		{"the widget's site", "https://shop.example", 403},
		{"a sandboxed frame", "null", 403},
		{"chatd's own page", n.url, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, code := dialStatus(t, wsURL(n, "/ws/agent"), http.Header{"Cookie": {cookie}, "Origin": {tt.origin}})
			if status != tt.want || (status == 403 && code != "origin_not_allowed") {
				t.Fatalf("%d %s, want %d", status, code, tt.want)
			}
		})
	}
}

// TestPasswordChangeEndsSessions: a new password ends every session of the
// account and closes its sockets on every node; the old password and the
// old tokens stop working; a change that is not the password ends nothing.
func TestPasswordChangeEndsSessions(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	a, b := startNode(t, vars), startNode(t, vars)
	ece := createStaff(t, a, "Ece", "agent", []string{"general"}, 2)
	second := login(t, b, ece.email, "agent-password")
	onA, _ := dialStaff(t, a, ece, true)
	onB := dial(t, wsURL(b, "/ws/agent?token="+second), nil)
	onB.expect("hello", nil)
	admin := login(t, a, "admin@example.com", "admin-password")
	// A change of capacity ends nothing.
	if code := api(t, "PATCH", a.url+"/api/v1/agents/"+ece.id, admin, map[string]any{"max_chats": 3}, nil); code != 200 {
		t.Fatalf("patch: %d", code)
	}
	time.Sleep(300 * time.Millisecond)
	if !onA.isOpen() || !onB.isOpen() {
		t.Fatal("a capacity change closed the consoles")
	}
	if code := api(t, "PATCH", a.url+"/api/v1/agents/"+ece.id, admin, map[string]any{"password": "a-new-password"}, nil); code != 200 {
		t.Fatalf("password change: %d", code)
	}
	for name, c := range map[string]*wsClient{"console on A": onA, "console on B": onB} {
		if code := c.closed(); code != 4001 {
			t.Errorf("%s closed with %d, want 4001", name, code)
		}
	}
	for _, tok := range []string{ece.token, second} {
		for _, n := range []*node{a, b} {
			if code := api(t, "GET", n.url+"/api/v1/auth/me", tok, nil, nil); code != 401 {
				t.Errorf("an old session answers %d", code)
			}
			if status, _ := dialStatus(t, wsURL(n, "/ws/agent?token="+tok), nil); status != 401 {
				t.Errorf("an old session opens the socket: %d", status)
			}
		}
	}
	if code := api(t, "POST", b.url+"/api/v1/auth/login", "", map[string]string{"email": ece.email, "password": "agent-password"}, nil); code != 401 {
		t.Errorf("the old password: %d", code)
	}
	fresh := login(t, b, ece.email, "a-new-password")
	dial(t, wsURL(a, "/ws/agent?token="+fresh), nil).expect("hello", nil)
}

// TestTokensOfTheWrongKind: a visitor token is no staff credential, a
// staff or API key token no visitor's, and forged ones are nobody's.
func TestTokensOfTheWrongKind(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t))
	_, vtok := createVisitor(t, n)
	ece := createStaff(t, n, "Ece", "agent", []string{"general"}, 2)
	admin := login(t, n, "admin@example.com", "admin-password")
	var key struct{ ID, Key string }
	api(t, "POST", n.url+"/api/v1/apikeys", admin, map[string]string{"name": "crm"}, &key)
	parts := strings.Split(vtok, ".")
	forged := parts[0] + "." + parts[1] + "." + strings.Repeat("0", len(parts[2])) + "." + parts[3]
	oldFormat := "v1." + parts[1] + "." + parts[3]
	for _, tt := range []struct {
		name, method, path, token string
		want                      int
	}{
		{"visitor token: who am I (staff)", "GET", "/api/v1/auth/me", vtok, 403},
		{"visitor token: staff list", "GET", "/api/v1/agents", vtok, 403},
		{"visitor token: make an agent", "POST", "/api/v1/agents", vtok, 403},
		{"visitor token: make a key", "POST", "/api/v1/apikeys", vtok, 403},
		{"visitor token: the audit log", "GET", "/api/v1/audit", vtok, 403},
		{"visitor token: staff logout leaves it", "POST", "/api/v1/auth/logout", vtok, 204},
		{"visitor token: is it valid", "GET", "/api/v1/visitor/token", vtok, 200},
		{"staff token: is it a valid visitor token", "GET", "/api/v1/visitor/token", ece.token, 403},
		{"forged visitor token: is it valid", "GET", "/api/v1/visitor/token", forged, 401},
		{"staff token: visitor logout", "POST", "/api/v1/visitor/logout", ece.token, 403},
		{"API key: visitor logout", "POST", "/api/v1/visitor/logout", key.Key, 403},
		{"API key: who am I (staff)", "GET", "/api/v1/auth/me", key.Key, 403},
		{"forged visitor token", "POST", "/api/v1/visitor/logout", forged, 401},
		{"visitor token of the first format", "POST", "/api/v1/visitor/logout", oldFormat, 401},
		{"no token", "POST", "/api/v1/visitor/logout", "", 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code := api(t, tt.method, n.url+tt.path, tt.token, map[string]any{}, nil); code != tt.want {
				t.Fatalf("%d, want %d", code, tt.want)
			}
		})
	}
	// The visitor token survived the staff logout it was sent to.
	if status, _ := dialStatus(t, wsURL(n, "/ws/visitor?token="+vtok), nil); status != 0 {
		t.Errorf("the visitor token after a staff logout: %d", status)
	}
	for _, tt := range []struct{ name, path string }{
		{"an API key on the agent socket", "/ws/agent?token=" + key.Key},
		{"an API key on the visitor socket", "/ws/visitor?token=" + key.Key},
		{"a forged visitor token", "/ws/visitor?token=" + forged},
		{"a visitor token of the first format", "/ws/visitor?token=" + oldFormat},
	} {
		if status, _ := dialStatus(t, wsURL(n, tt.path), nil); status != 401 {
			t.Errorf("%s: %d, want 401", tt.name, status)
		}
	}
	if status, _ := dialStatus(t, wsURL(n, "/ws/agent"), http.Header{"Cookie": {"chatd_session=" + vtok}}); status != 401 {
		t.Errorf("a visitor token in the session cookie opened the agent socket: %d", status)
	}
}

// syncBuffer is a log sink written by many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startNodeLogging is startNode with the node's log, at debug level, going
// to w.
func startNodeLogging(t *testing.T, vars map[string]string, w io.Writer) *node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg, err := server.LoadConfig(testEnv(vars), newFlags("serve", "", io.Discard), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{}
	if n.Server, err = server.New(ctx, cfg, slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})), &n.out); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n.url = "http://" + ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx, ln) }()
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			n.Close()
		})
	}
	t.Cleanup(n.stop)
	return n
}

// The numbers a customer must never see stored, relayed or logged, and
// how they come out masked.
const (
	rawCard   = "4111 1111 1111 1111"
	rawIBAN   = "TR33 0006 1005 1978 6457 8413 26"
	rawID     = "10000000146"
	maskedAll = "**** **** **** 1111 TR** **** **** **** **** **13 26 *********46"
)

// historyText is the text of the i-th message of a chat.assigned's history.
func historyText(f frame, i int) string {
	h, _ := f["history"].([]any)
	if i >= len(h) {
		return ""
	}
	m, _ := h[i].(map[string]any)
	s, _ := m["text"].(string)
	return s
}

// TestMaskingAndLogs: card numbers, IBANs and national ids are masked in
// every live channel (first message, messages both ways, notes, the CSAT
// comment, the visitor's name and email) before they are stored or
// delivered; and no customer text reaches the log, even at debug level
// and on refused frames.
func TestMaskingAndLogs(t *testing.T) {
	logs := &syncBuffer{}
	n := startNodeLogging(t, clusterVars(t), logs)
	secret := rawCard + " " + rawIBAN + " " + rawID
	ece := createStaff(t, n, "Ece", "agent", []string{"general"}, 2)
	agent, _ := dialStaff(t, n, ece, true)

	var vis map[string]string
	if code := api(t, "POST", n.url+"/api/v1/visitors", "", map[string]string{"name": "Ayşe " + rawID, "email": rawID + "@example.com"}, &vis); code != 201 {
		t.Fatalf("visitor: %d", code)
	}
	v, _ := dialVisitor(t, n, vis["token"])
	chatID := v.call(map[string]any{"type": "chat.start", "unit": "general", "text": "marker-start " + secret, "age_confirmed": true,
		"name": "Ayşe " + rawID, "email": rawID + "@example.com"}).str("chat_id")
	assigned := agent.expect("chat.assigned", forChat(chatID))
	visitor, _ := assigned["visitor"].(map[string]any)
	if visitor["name"] != "Ayşe *********46" || visitor["email"] != "*********46@example.com" {
		t.Errorf("the agent sees the visitor as %v", visitor)
	}
	if got := historyText(assigned, 0); got != "marker-start "+maskedAll {
		t.Errorf("first message to the agent: %q", got)
	}
	v.call(map[string]any{"type": "message", "chat_id": chatID, "text": "marker-message " + secret})
	if m := agent.expect("message", bySeq(chatID, 2)); m.str("text") != "marker-message "+maskedAll {
		t.Errorf("visitor's message to the agent: %q", m.str("text"))
	}
	agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": "marker-reply " + secret})
	if m := v.expect("message", bySeq(chatID, 3)); m.str("text") != "marker-reply "+maskedAll {
		t.Errorf("agent's reply to the visitor: %q", m.str("text"))
	}
	agent.call(map[string]any{"type": "note", "chat_id": chatID, "text": "marker-note " + secret})
	if m := agent.expect("note", forChat(chatID)); m.str("text") != "marker-note "+maskedAll {
		t.Errorf("note: %q", m.str("text"))
	}
	// Refused frames that carry text.
	v.callErr(map[string]any{"type": "message", "chat_id": chatID, "text": "marker-big " + strings.Repeat(rawID+" ", 500)})
	v.callErr(map[string]any{"type": "message", "chat_id": "no-such-chat", "text": "marker-lost " + secret})
	v.send(map[string]any{"type": "no.such.type", "text": "marker-unknown " + secret})
	v.nextErr()
	agent.call(map[string]any{"type": "chat.close", "chat_id": chatID})
	v.call(map[string]any{"type": "csat", "chat_id": chatID, "rating": 4, "comment": "marker-csat " + secret})

	// What was stored.
	db := rawDB(t, n)
	rows, err := db.Query(rebind(n, "SELECT text FROM messages WHERE chat_id = ? UNION ALL SELECT rating_comment FROM chats WHERE id = ? UNION ALL SELECT name || ' ' || email FROM visitors"), chatID, chatID)
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		stored = append(stored, s)
	}
	rows.Close()
	if len(stored) != 6 {
		t.Fatalf("stored %d texts: %q", len(stored), stored)
	}
	for _, s := range stored {
		for _, raw := range []string{"4111 1111 1111 1111", "TR33 0006", rawID} {
			if strings.Contains(s, raw) {
				t.Errorf("stored unmasked: %q", s)
			}
		}
	}
	// Nor any credential: the visitor's token (sent as ?token= on the
	// socket and in headers), the staff token, or its signature alone.
	api(t, "GET", n.url+"/api/v1/visitor/history?token="+vis["token"], vis["token"], nil, nil)
	api(t, "GET", n.url+"/api/v1/tickets?token="+ece.token, ece.token, nil, nil)
	api(t, "GET", n.url+"/api/v1/audit", vis["token"], nil, nil)
	dialStatus(t, wsURL(n, "/ws/visitor?token="+vis["token"]+"x"), nil)
	// What was logged: nothing the customer or the agent typed, and no
	// credential.
	n.stop()
	out := logs.String()
	if !strings.Contains(out, "level=DEBUG") {
		t.Fatalf("the node logged nothing at debug level: %q", out)
	}
	sig := vis["token"][strings.LastIndex(vis["token"], ".")+1:]
	for _, s := range []string{"marker-", "4111 1111 1111", "TR33 0006", "0006 1005", rawID, "Ayşe", vis["token"], sig, ece.token} {
		if strings.Contains(out, s) {
			i := strings.Index(out, s)
			t.Errorf("the log holds %q: ...%s...", s, out[max(0, i-200):min(len(out), i+100)])
		}
	}
}

// TestMaskingNationalIDsCanBeTurnedOff: CHAT_MASK_NATIONAL_IDS=0 leaves
// national ids as typed and still masks cards and IBANs. (Not parallel:
// the masking choice is the process's.)
func TestMaskingNationalIDsCanBeTurnedOff(t *testing.T) {
	n := startNode(t, clusterVars(t, "CHAT_MASK_NATIONAL_IDS", "0"))
	t.Cleanup(func() { chat.SetMasking(chat.Masking{}) }) // back to the default for the tests after
	agent, _ := newAgent(t, n, "Ece", []string{"general"}, 2)
	v, _ := newVisitor(t, n)
	chatID := startChat(t, v, "general", rawID+" "+rawCard+" "+rawIBAN)
	assigned := agent.expect("chat.assigned", forChat(chatID))
	if got := historyText(assigned, 0); got != rawID+" **** **** **** 1111 TR** **** **** **** **** **13 26" {
		t.Errorf("with national ids kept: %q", got)
	}
}

// TestHostileQueryParameters: whatever arrives in a query string or a path
// parameter, on every GET route, from every kind of caller, the answer is
// never a 500.
func TestHostileQueryParameters(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t))
	_, vtok := createVisitor(t, n)
	admin := login(t, n, "admin@example.com", "admin-password")
	hostile := []string{"' OR '1'='1", "1; DROP TABLE chats;--", "%00", "\x00", "../../etc/passwd", "*", "%", "_", "\\", "1e400", "-1",
		"99999999999999999999999", strings.Repeat("A", 3000), "{{7*7}}", "<script>alert(1)</script>", "ü\u202e", "\xff\xfe", "2026-13-45T99:99:99Z"}
	params := []string{"limit", "cursor", "status", "unit", "action", "actor", "object", "from", "to", "format", "lang", "q", "email", "visitor"}
	for _, r := range n.Echo.Routes() {
		if r.Method != "GET" || isPageRoute(r.Path) || strings.HasPrefix(r.Path, "/ws/") || r.Path == "/readyz" || r.Method == "echo_route_not_found" {
			continue
		}
		for _, token := range []string{"", vtok, admin} {
			for _, h := range hostile {
				path := r.Path
				for _, seg := range strings.Split(r.Path, "/") {
					if strings.HasPrefix(seg, ":") {
						path = strings.Replace(path, seg, url.PathEscape(h), 1)
					}
				}
				q := url.Values{}
				for _, p := range params {
					q.Set(p, h)
				}
				req, err := http.NewRequest("GET", n.url+path+"?"+q.Encode(), nil)
				if err != nil {
					continue
				}
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 500 {
					t.Errorf("GET %s with %q: %d", r.Path, h, resp.StatusCode)
				}
			}
		}
	}
}

// TestFloodFromOneAddress: sockets of one address flooding frames, a lone
// socket of another flooding on its own, and the first address signing up
// visitors in a loop, get rate_limited while a client of yet another
// address is served as before: every one of its
// messages is acknowledged, none refused, and its round trips stay within
// a wide margin of what they were before the flood.
func TestFloodFromOneAddress(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t, "CHAT_TRUSTED_PROXIES", "127.0.0.1", "CHAT_RATE_IP_PER_SEC", "20"))
	from := func(ip string) http.Header { return http.Header{"X-Forwarded-For": {ip}} }
	agent, _ := newAgent(t, n, "Ece", []string{"general"}, 5)
	newClient := func(ip string) (*wsClient, string) {
		var vis map[string]string
		req, _ := http.NewRequest("POST", n.url+"/api/v1/visitors", strings.NewReader("{}"))
		req.Header = from(ip)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&vis)
		resp.Body.Close()
		c := dial(t, wsURL(n, "/ws/visitor?token="+vis["token"]), from(ip))
		c.expect("hello", nil)
		return c, startChat(t, c, "general", "hello")
	}
	calm, calmChat := newClient("198.51.100.7")
	agent.expect("chat.assigned", forChat(calmChat))
	roundTrips := func(k int) (time.Duration, int) {
		var total time.Duration
		refused := 0
		for i := range k {
			start := time.Now()
			id := sendID(calm, map[string]any{"type": "message", "chat_id": calmChat, "text": fmt.Sprint("calm ", i)})
			f, ok := calm.waitReply(id, 30*time.Second)
			if !ok {
				t.Fatalf("no reply to the calm client's message %d", i)
			}
			if f.str("type") != "ack" {
				refused++
			}
			total += time.Since(start)
			time.Sleep(100 * time.Millisecond) // 10 a second: well within its address's rate
		}
		return total / time.Duration(k), refused
	}
	baseline, refused := roundTrips(10)
	if refused > 0 {
		t.Fatalf("%d of the calm client's messages refused before any flood", refused)
	}

	var flooders []*wsClient
	for range 3 {
		c, _ := newClient("203.0.113.66")
		flooders = append(flooders, c)
	}
	lone, _ := newClient("192.0.2.99")
	flooders = append(flooders, lone)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range flooders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1500; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := c.trySend(map[string]any{"type": "typing", "chat_id": "x", "on": true}); err != nil {
					return // closed for flooding
				}
			}
		}()
	}
	signups := make(chan int, 200)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 200 {
			status, _ := call(t, "POST", n.url+"/api/v1/visitors", from("203.0.113.66"), "{}")
			signups <- status
		}
	}()
	during, refused := roundTrips(10)
	close(stop)
	wg.Wait()
	close(signups)
	if refused > 0 {
		t.Errorf("%d of the calm client's messages refused during the flood", refused)
	}
	t.Logf("the calm client's round trip: %v before, %v during the flood", baseline, during)
	if limit := 20*baseline + 2*time.Second; during > limit {
		t.Errorf("the calm client's round trip went from %v to %v during the flood (limit %v)", baseline, during, limit)
	}
	isLimited := func(f frame) bool { return f.str("code") == "rate_limited" }
	limited := 0
	for _, c := range flooders[:3] {
		limited += c.count("error", isLimited)
	}
	if limited < 100 {
		t.Errorf("the flooding address got %d rate_limited errors", limited)
	}
	if n := lone.count("error", isLimited); n < 50 {
		t.Errorf("the lone flooding socket got %d rate_limited errors", n)
	}
	tooMany := 0
	for s := range signups {
		if s == 429 {
			tooMany++
		}
	}
	if tooMany == 0 {
		t.Error("200 sign-ups from one address in a row were all accepted")
	}
	// The other address still signs up.
	if status, _ := call(t, "POST", n.url+"/api/v1/visitors", from("198.51.100.8"), "{}"); status != 201 {
		t.Errorf("another address's sign-up during the flood: %d", status)
	}
}

// TestDailyPurgeOnOneNode: the server's built-in purge deletes a chat past
// the retention and keeps a recent one; a second node sharing the cluster
// does not purge again the same day.
func TestDailyPurgeOnOneNode(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t, "CHAT_RETENTION_DAYS", "30")
	a, b := startNode(t, vars), startNode(t, vars)
	agent, _ := newAgent(t, a, "Ece", []string{"general"}, 5)
	var chats []string
	for range 2 {
		v, _ := newVisitor(t, a)
		id := startChat(t, v, "general", "hello")
		agent.expect("chat.assigned", forChat(id))
		agent.call(map[string]any{"type": "chat.close", "chat_id": id})
		chats = append(chats, id)
	}
	old := (31 * 24 * time.Hour).Milliseconds()
	if _, err := rawDB(t, a).Exec(rebind(a, "UPDATE chats SET closed_at = closed_at - ?, last_activity_at = last_activity_at - ? WHERE id = ?"), old, old, chats[0]); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ran, res, err := a.Retention.RunOnce(ctx)
	if err != nil || !ran || res.Chats != 1 {
		t.Fatalf("node A's purge: ran %v, %+v, %v", ran, res, err)
	}
	if _, err := a.DB.Chat(ctx, chats[0]); err == nil {
		t.Error("the chat past the retention is still there")
	}
	if _, err := a.DB.Chat(ctx, chats[1]); err != nil {
		t.Errorf("the recent chat: %v", err)
	}
	if ran, _, err := b.Retention.RunOnce(ctx); err != nil || ran {
		t.Fatalf("node B purged again the same day: %v %v", ran, err)
	}
}

// TestPurgeCommand: `chatd purge --dry-run` says what would go and deletes
// nothing; `chatd purge` then deletes exactly that.
func TestPurgeCommand(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	n := startNode(t, vars)
	agent, _ := newAgent(t, n, "Ece", []string{"general"}, 2)
	v, _ := newVisitor(t, n)
	chatID := startChat(t, v, "general", "hello")
	agent.expect("chat.assigned", forChat(chatID))
	v.call(map[string]any{"type": "message", "chat_id": chatID, "text": "bye"})
	agent.call(map[string]any{"type": "chat.close", "chat_id": chatID})
	time.Sleep(20 * time.Millisecond)
	out, err := cli(t, vars, "purge", "--dry-run", "--older-than", "10ms")
	if err != nil || !strings.Contains(out, "would purge 1 chat(s) (2 message(s)), 0 ticket(s)") {
		t.Fatalf("dry run: %v %q", err, out)
	}
	if _, err := n.DB.Chat(context.Background(), chatID); err != nil {
		t.Fatalf("the dry run deleted the chat: %v", err)
	}
	out, err = cli(t, vars, "purge", "--older-than", "10ms")
	if err != nil || !strings.Contains(out, "purged 1 chat(s) (2 message(s)), 0 ticket(s)") {
		t.Fatalf("purge: %v %q", err, out)
	}
	if _, err := n.DB.Chat(context.Background(), chatID); err == nil {
		t.Fatal("the chat is still there")
	}
	if out, err := cli(t, vars, "audit", "--help"); err != nil || !strings.Contains(out, "chatd audit verify") {
		t.Errorf("audit --help: %v %q", err, out)
	}
	if _, err := cli(t, vars, "audit", "check"); err == nil {
		t.Error("audit with an unknown subcommand passed")
	}
	if out, _ := cli(t, vars, "help"); !strings.Contains(out, "chatd audit verify") || !strings.Contains(out, "--dry-run") {
		t.Errorf("the usage lacks the audit and purge commands: %q", out)
	}
}
