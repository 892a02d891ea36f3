package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is an integrator's webhook endpoint: it checks every signature
// and records what arrived.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	down   bool                        // answer 503
	tries  map[string]int              // delivery id -> attempts seen
	ok     map[string]int              // delivery id -> attempts answered 200
	events map[string][]map[string]any // event -> bodies accepted
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, tries: map[string]int{}, ok: map[string]int{}, events: map[string][]map[string]any{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	m := hmac.New(sha256.New, []byte(r.secret))
	m.Write(body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(req.Header.Get("X-Chat-Signature")), []byte(want)) {
		r.t.Errorf("bad signature %q on %s", req.Header.Get("X-Chat-Signature"), body)
		w.WriteHeader(401)
		return
	}
	ts, err := strconv.ParseInt(req.Header.Get("X-Chat-Timestamp"), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		r.t.Errorf("X-Chat-Timestamp %q", req.Header.Get("X-Chat-Timestamp"))
	}
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		r.t.Errorf("body %s: %v", body, err)
	}
	id := req.Header.Get("X-Chat-Delivery")
	if id == "" || ev["id"] != id || ev["event"] != req.Header.Get("X-Chat-Event") || ev["data"] == nil {
		r.t.Errorf("delivery %q event %q: body %s", id, req.Header.Get("X-Chat-Event"), body)
	}
	r.tries[id]++
	if r.down {
		w.WriteHeader(503)
		return
	}
	r.ok[id]++
	r.events[ev["event"].(string)] = append(r.events[ev["event"].(string)], ev)
	w.WriteHeader(200)
}

func (r *receiver) count(event string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events[event])
}

func (r *receiver) setSecret(s string) { r.mu.Lock(); r.secret = s; r.mu.Unlock() }
func (r *receiver) setDown(d bool)     { r.mu.Lock(); r.down = d; r.mu.Unlock() }

func (r *receiver) waitFor(t *testing.T, want map[string]int) {
	t.Helper()
	if !waitUntil(30*time.Second, func() bool {
		for ev, n := range want {
			if r.count(ev) < n {
				return false
			}
		}
		return true
	}) {
		r.mu.Lock()
		defer r.mu.Unlock()
		got := map[string]int{}
		for ev, l := range r.events {
			got[ev] = len(l)
		}
		t.Fatalf("events received %v, want at least %v", got, want)
	}
}

func adminToken(t *testing.T, n *node) string {
	return login(t, n, "admin@example.com", "admin-password")
}

func createHook(t *testing.T, n *node, admin, url string, events ...string) (id, secret string) {
	t.Helper()
	var w struct{ ID, Secret string }
	if code := api(t, "POST", n.url+"/api/v1/webhooks", admin, map[string]any{"url": url, "events": events}, &w); code != 201 || w.Secret == "" {
		t.Fatalf("create webhook: %d %+v", code, w)
	}
	return w.ID, w.Secret
}

func createKey(t *testing.T, n *node, admin string, units ...string) (id, key string) {
	t.Helper()
	var k struct{ ID, Key string }
	body := map[string]any{"name": "crm"}
	if units != nil {
		body["units"] = units
	}
	if code := api(t, "POST", n.url+"/api/v1/apikeys", admin, body, &k); code != 201 || !strings.HasPrefix(k.Key, "ck_") {
		t.Fatalf("create key: %d %+v", code, k)
	}
	return k.ID, k.Key
}

// TestIntegratorAPI: with only an API key an integrator creates, finds,
// replies to, merges and solves tickets and escalates a live chat, and a
// real receiver gets a signed event for each.
func TestIntegratorAPI(t *testing.T) {
	n := startNode(t, clusterVars(t, "CHAT_WEBHOOK_ALLOW_PRIVATE", "1"))
	rcv := newReceiver(t)
	admin := adminToken(t, n)
	_, secret := createHook(t, n, admin, rcv.srv.URL+"/hooks", "chat.closed", "chat.escalated", "ticket.created", "ticket.updated", "ticket.replied", "ticket.merged")
	rcv.setSecret(secret)
	keyID, key := createKey(t, n, admin, "general", "account")

	var a, b ticketJSON
	if code := api(t, "POST", n.url+"/api/v1/tickets", key, map[string]any{"unit": "general", "subject": "Çekim talebi", "text": "Çekim talebim onaylanmadı", "email": "can@example.com"}, &a); code != 201 {
		t.Fatalf("create: %d %+v", code, a)
	}
	var merged struct {
		MergedInto string `json:"merged_into"`
	}
	if code := api(t, "POST", n.url+"/api/v1/tickets", key, map[string]any{"unit": "general", "subject": "ÇEKİM TALEBİ", "text": "tekrar yazıyorum", "email": "can@example.com"}, &merged); code != 200 || merged.MergedInto != a.ID {
		t.Fatalf("repeat: %d %+v", code, merged)
	}
	if code := api(t, "POST", n.url+"/api/v1/tickets", key, map[string]any{"unit": "general", "subject": "Bonus", "text": "Bonusum nerede?", "email": "can@example.com"}, &b); code != 201 || b.ID == a.ID {
		t.Fatalf("second matter: %d %+v", code, b)
	}
	var list listJSON
	if code := api(t, "GET", n.url+"/api/v1/tickets?email=can@example.com&unit=general", key, nil, &list); code != 200 || len(list.Items) != 2 || list.Items[0].ID != a.ID {
		t.Fatalf("find by email: %d %+v", code, list)
	}
	if code := api(t, "POST", n.url+"/api/v1/tickets/"+a.ID+"/replies", key, map[string]any{"text": "İnceliyoruz"}, nil); code != 201 {
		t.Fatalf("reply %d", code)
	}
	var mr struct {
		Ticket ticketJSON `json:"ticket"`
		Into   ticketJSON `json:"into"`
	}
	if code := api(t, "POST", n.url+"/api/v1/tickets/"+b.ID+"/merge", key, map[string]any{"into": a.ID}, &mr); code != 200 || mr.Ticket.MergedInto != a.ID || mr.Ticket.Status != "closed" || mr.Into.ID != a.ID {
		t.Fatalf("merge: %d %+v", code, mr)
	}
	var solved ticketJSON
	if code := api(t, "PATCH", n.url+"/api/v1/tickets/"+a.ID, key, map[string]any{"status": "solved"}, &solved); code != 200 || solved.Status != "solved" {
		t.Fatalf("solve: %d %+v", code, solved)
	}
	// A live chat escalated over REST, and another closed.
	v, _ := newVisitor(t, n)
	ag, _ := newAgent(t, n, "Ece", []string{"general"}, 3)
	chatID := startChat(t, v, "general", "Hesabım kilitlendi")
	ag.expect("chat.assigned", forChat(chatID))
	ag.call(map[string]any{"type": "message", "chat_id": chatID, "text": "Bakıyorum"})
	var esc ticketJSON
	if code := api(t, "POST", n.url+"/api/v1/chats/"+chatID+"/escalate", key, map[string]any{"subject": "Kilitli hesap"}, &esc); code != 201 || esc.ChatID != chatID || !strings.Contains(esc.Text, "Bakıyorum") {
		t.Fatalf("escalate: %d %+v", code, esc)
	}
	if f := v.expect("chat.escalated", forChat(chatID)); f.str("ticket_id") != esc.ID {
		t.Fatalf("the visitor is told %v", f)
	}
	v2, _ := newVisitor(t, n)
	chat2 := startChat(t, v2, "general", "soru")
	ag.expect("chat.assigned", forChat(chat2))
	v2.call(map[string]any{"type": "chat.close", "chat_id": chat2})

	rcv.waitFor(t, map[string]int{"ticket.created": 3, "ticket.merged": 2, "ticket.replied": 1, "ticket.updated": 1, "chat.escalated": 1, "chat.closed": 1})

	// The key's actions are kind apikey (its id and name) everywhere: the
	// ticket's replies and events and the webhooks' change; the requester
	// known only by email is kind visitor with no id and the email as name.
	type sender struct{ Kind, ID, Name string }
	var got struct {
		From    sender
		Replies []struct {
			From sender
			Text string
		}
		Events []struct {
			Kind string
			By   sender
		}
	}
	if code := api(t, "GET", n.url+"/api/v1/tickets/"+a.ID, key, nil, &got); code != 200 {
		t.Fatalf("read: %d", code)
	}
	keyed := sender{"apikey", keyID, "crm"}
	if got.From != (sender{"visitor", "", "can@example.com"}) {
		t.Errorf("the requester by email: %+v", got.From)
	}
	var replied, events int
	for _, r := range got.Replies {
		if r.Text == "İnceliyoruz" {
			replied++
			if r.From != keyed {
				t.Errorf("the key's reply is from %+v, want %+v", r.From, keyed)
			}
		}
	}
	for _, e := range got.Events {
		if e.Kind == "status" || e.Kind == "replied" || e.Kind == "merged_in" {
			events++
			if e.By != keyed {
				t.Errorf("the key's %s event is by %+v, want %+v", e.Kind, e.By, keyed)
			}
		}
	}
	if replied != 1 || events < 3 {
		t.Errorf("replies %+v events %+v", got.Replies, got.Events)
	}
	rcv.mu.Lock()
	for _, ev := range rcv.events["ticket.updated"] {
		by, _ := ev["data"].(map[string]any)["change"].(map[string]any)["by"].(map[string]any)
		if by["kind"] != "apikey" || by["id"] != keyID || by["name"] != "crm" {
			t.Errorf("ticket.updated change by %v, want the key as apikey", by)
		}
	}
	rcv.mu.Unlock()

	// The key's unit limit and its revocation.
	var e struct{ Error struct{ Code string } }
	if code := api(t, "POST", n.url+"/api/v1/tickets", key, map[string]any{"unit": "technical", "subject": "x", "text": "y", "email": "can@example.com"}, &e); code != 403 {
		t.Fatalf("a limited key writes to another unit: %d", code)
	}
	var tech ticketJSON
	api(t, "POST", n.url+"/api/v1/tickets", admin, map[string]any{"unit": "technical", "subject": "x", "text": "y", "email": "z@example.com"}, &tech)
	if code := api(t, "GET", n.url+"/api/v1/tickets/"+tech.ID, key, nil, &e); code != 404 {
		t.Fatalf("a limited key reads another unit's ticket: %d", code)
	}
	var keys struct {
		Items []struct {
			ID    string   `json:"id"`
			Units []string `json:"units"`
		} `json:"items"`
	}
	if code := api(t, "GET", n.url+"/api/v1/apikeys", admin, nil, &keys); code != 200 || len(keys.Items) != 1 || len(keys.Items[0].Units) != 2 {
		t.Fatalf("keys: %d %+v", code, keys)
	}
	if code := api(t, "DELETE", n.url+"/api/v1/apikeys/"+keyID, admin, nil, nil); code != 204 {
		t.Fatalf("revoke %d", code)
	}
	if code := api(t, "GET", n.url+"/api/v1/tickets", key, nil, &e); code != 401 {
		t.Fatalf("a revoked key: %d", code)
	}
}

// TestIdempotencyKeys: the same key and body get the same answer, once
// applied; another body with the key is refused.
func TestIdempotencyKeys(t *testing.T) {
	n := startNode(t, clusterVars(t))
	admin := adminToken(t, n)
	_, key := createKey(t, n, admin)
	post := func(idem string, body map[string]any) (int, map[string]any, http.Header) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", n.url+"/api/v1/tickets", strings.NewReader(string(b)))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", idem)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		checkResponse(t, req, resp, raw)
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return resp.StatusCode, out, resp.Header
	}
	body := map[string]any{"unit": "general", "subject": "Kart", "text": "kartım bloke", "email": "d@example.com"}
	c1, first, _ := post("k-1", body)
	c2, again, h := post("k-1", body)
	if c1 != 201 || c2 != 201 || first["id"] != again["id"] || h.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %v / %d %v %v", c1, first["id"], c2, again["id"], h)
	}
	if n, _ := n.DB.CountTickets(t.Context()); n != 1 {
		t.Fatalf("%d tickets after a replayed request", n)
	}
	body["text"] = "başka bir şey"
	c3, e, _ := post("k-1", body)
	if c3 != 422 || e["error"].(map[string]any)["code"] != "idempotency_key_reused" {
		t.Fatalf("another body with the key: %d %v", c3, e)
	}
	// Another principal's same key is theirs alone.
	_, key2 := createKey(t, n, admin)
	key = key2
	body["email"] = "e@example.com"
	if c4, other, _ := post("k-1", body); c4 != 201 || other["id"] == first["id"] {
		t.Fatalf("another key's idempotency key: %d %v", c4, other)
	}
}

// idemPost posts body to path with an Idempotency-Key and returns the status,
// the raw answer and its headers.
func idemPost(t *testing.T, n *node, token, path, idem string, body any) (int, []byte, http.Header) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", n.url+path, strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", idem)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	checkResponse(t, req, resp, raw)
	return resp.StatusCode, raw, resp.Header
}

// TestIdempotencyKeepsNoSecret: an answer holding a secret (an API key, a
// webhook secret) is stored without it; a repeat of its request makes
// nothing and is told the secret was shown once (409 secret_shown_once),
// naming what was made.
func TestIdempotencyKeepsNoSecret(t *testing.T) {
	n := startNode(t, clusterVars(t, "CHAT_WEBHOOK_ALLOW_PRIVATE", "1"))
	admin := adminToken(t, n)
	for _, c := range []struct {
		path, field string
		body        map[string]any
		named       func(made map[string]any) string // what the 409 names
	}{
		{"/api/v1/apikeys", "key", map[string]any{"name": "crm"}, func(m map[string]any) string { return "made API key " + m["id"].(string) }},
		{"/api/v1/webhooks", "secret", map[string]any{"url": "http://127.0.0.1:9/hook", "events": []string{"ticket.created"}}, func(m map[string]any) string { return "made webhook " + m["id"].(string) }},
		{"/api/v1/visitors", "token", map[string]any{"name": "Ada"}, func(m map[string]any) string { return "made visitor " + m["visitor_id"].(string) + " and its token" }},
		{"/api/v1/auth/login", "token", map[string]any{"email": "admin@example.com", "password": "admin-password"}, func(m map[string]any) string {
			return "made a session (token) of agent " + m["agent"].(map[string]any)["id"].(string)
		}},
	} {
		code, raw, _ := idemPost(t, n, admin, c.path, "secret-"+c.path, c.body)
		var made map[string]any
		if err := json.Unmarshal(raw, &made); err != nil || code >= 300 || made[c.field] == "" {
			t.Fatalf("%s: %d %s", c.path, code, raw)
		}
		secret := made[c.field].(string)
		want := c.named(made)
		code, raw, _ = idemPost(t, n, admin, c.path, "secret-"+c.path, c.body)
		var e struct {
			Error struct{ Code, Message string }
		}
		_ = json.Unmarshal(raw, &e)
		if code != 409 || e.Error.Code != "secret_shown_once" || !strings.Contains(e.Error.Message, want+" (status") || strings.Contains(string(raw), secret) {
			t.Errorf("%s repeated: %d %s; want 409 secret_shown_once naming %q", c.path, code, raw, want)
		}
		var stored int
		if err := rawDB(t, n).QueryRow(rebind(n, "SELECT COUNT(*) FROM idempotency_keys WHERE key = ? AND body LIKE ?"), "secret-"+c.path, "%"+secret+"%").Scan(&stored); err != nil || stored != 0 {
			t.Errorf("%s: the secret is stored with the key's answer (%d rows, %v)", c.path, stored, err)
		}
	}
	// A refused request made nothing and held no secret: its answer is replayed.
	for range 2 {
		if code, raw, _ := idemPost(t, n, admin, "/api/v1/webhooks", "secret-refused", map[string]any{"url": "ftp://x", "events": []string{"ticket.created"}}); code != 400 {
			t.Fatalf("a refused webhook: %d %s", code, raw)
		}
	}
	var keys struct{ Items []map[string]any }
	if api(t, "GET", n.url+"/api/v1/apikeys", admin, nil, &keys); len(keys.Items) != 1 {
		t.Errorf("%d API keys after a repeated request, want 1", len(keys.Items))
	}
}

// TestIdempotencyStaleClaim: a claimed key whose request never answered
// (its node died mid-request) refuses retries only for its lease; after
// it a retry runs the request.
func TestIdempotencyStaleClaim(t *testing.T) {
	n := startNode(t, clusterVars(t))
	admin := adminToken(t, n)
	_, key := createKey(t, n, admin)
	body := map[string]any{"unit": "general", "subject": "Çekim", "text": "çekimim gelmedi", "email": "f@example.com"}
	if code, raw, _ := idemPost(t, n, key, "/api/v1/tickets", "crash-1", body); code != 201 {
		t.Fatalf("first: %d %s", code, raw)
	}
	// The node that claimed the key died before answering: the claim is
	// running, just made.
	db := rawDB(t, n)
	if _, err := db.Exec(rebind(n, "UPDATE idempotency_keys SET status = 0, body = '', created_at = ? WHERE key = ?"), time.Now().UnixMilli(), "crash-1"); err != nil {
		t.Fatal(err)
	}
	if code, raw, _ := idemPost(t, n, key, "/api/v1/tickets", "crash-1", body); code != 409 {
		t.Fatalf("a retry within the lease: %d %s; want 409", code, raw)
	}
	// Past its lease (2 x CHAT_REQUEST_TIMEOUT) the claim is taken over.
	if _, err := db.Exec(rebind(n, "UPDATE idempotency_keys SET created_at = ? WHERE key = ?"), time.Now().Add(-2*time.Minute).UnixMilli(), "crash-1"); err != nil {
		t.Fatal(err)
	}
	code, raw, h := idemPost(t, n, key, "/api/v1/tickets", "crash-1", body)
	if code != 200 || h.Get("Idempotent-Replayed") != "" || !strings.Contains(string(raw), "merged_into") {
		t.Fatalf("a retry after the lease: %d %s; want the request run again (the same matter joins the ticket)", code, raw)
	}
	if code2, raw2, h := idemPost(t, n, key, "/api/v1/tickets", "crash-1", body); code2 != 200 || h.Get("Idempotent-Replayed") != "true" || string(raw2) != string(raw) {
		t.Fatalf("the answer of the takeover is kept: %d %s", code2, raw2)
	}
}

// TestWebhookDeliveriesSurviveRestart: deliveries pending when a node
// stops are delivered by the next, each exactly once per id; a refused
// attempt is retried with the same id; an admin reads the log and
// redelivers.
func TestWebhookDeliveriesSurviveRestart(t *testing.T) {
	vars := clusterVars(t, "CHAT_WEBHOOK_ALLOW_PRIVATE", "1")
	n := startNode(t, vars)
	rcv := newReceiver(t)
	rcv.setDown(true)
	admin := adminToken(t, n)
	hookID, secret := createHook(t, n, admin, rcv.srv.URL, "ticket.created")
	rcv.setSecret(secret)
	_, key := createKey(t, n, admin)
	for _, s := range []string{"bir", "iki", "üç"} {
		if code := api(t, "POST", n.url+"/api/v1/tickets", key, map[string]any{"unit": "general", "subject": s, "text": s, "email": s + "@example.com"}, nil); code != 201 {
			t.Fatal(code)
		}
	}
	if !waitUntil(20*time.Second, func() bool { rcv.mu.Lock(); defer rcv.mu.Unlock(); return len(rcv.tries) == 3 }) {
		t.Fatalf("attempts: %v", rcv.tries)
	}
	// Stop once every refused attempt is on the record: what is tested is the
	// next node picking up pending deliveries, not the lease of an attempt
	// cut short (a store test covers leases).
	if !waitUntil(20*time.Second, func() bool {
		ds, _, err := n.DB.Deliveries(t.Context(), hookID, "", 10)
		failed := 0
		for _, d := range ds {
			if d.LastError != "" {
				failed++
			}
		}
		return err == nil && failed == 3
	}) {
		t.Fatal("the refused attempts were not recorded")
	}
	n.stop()
	rcv.setDown(false)
	n2 := startNode(t, vars)
	rcv.waitFor(t, map[string]int{"ticket.created": 3})
	time.Sleep(1500 * time.Millisecond) // a second delivery of any would show now
	rcv.mu.Lock()
	for id, k := range rcv.ok {
		if k != 1 || rcv.tries[id] < 2 {
			t.Errorf("delivery %s answered %d times after %d attempts", id, k, rcv.tries[id])
		}
	}
	rcv.mu.Unlock()
	admin = adminToken(t, n2)
	var log struct {
		Items []struct {
			ID, Status string
			Attempts   int
		} `json:"items"`
	}
	if code := api(t, "GET", n2.url+"/api/v1/webhooks/"+hookID+"/deliveries", admin, nil, &log); code != 200 || len(log.Items) != 3 {
		t.Fatalf("delivery log: %d %+v", code, log)
	}
	for _, d := range log.Items {
		if d.Status != "delivered" || d.Attempts < 2 {
			t.Errorf("logged %+v", d)
		}
	}
	again := log.Items[0].ID
	// 202: queued again, pending from zero; nothing of the last attempt is
	// left on the row (its delivery time, response status, error).
	var queued map[string]any
	if code := api(t, "POST", n2.url+"/api/v1/webhooks/"+hookID+"/deliveries/"+again+"/redeliver", admin, nil, &queued); code != 202 ||
		queued["id"] != again || queued["status"] != "pending" || queued["attempts"] != 0.0 {
		t.Fatalf("redeliver %d %v", code, queued)
	}
	for _, f := range []string{"delivered_at", "response_status", "last_error"} {
		if v, ok := queued[f]; ok {
			t.Errorf("a redelivered delivery still has %s %v", f, v)
		}
	}
	if !waitUntil(20*time.Second, func() bool { rcv.mu.Lock(); defer rcv.mu.Unlock(); return rcv.ok[again] == 2 }) {
		t.Fatal("the redelivery did not arrive with the same id")
	}
}

// TestWebhookRefusesPrivateTargets: without CHAT_WEBHOOK_ALLOW_PRIVATE a
// name that resolves to loopback is refused when dialled.
func TestWebhookRefusesPrivateTargets(t *testing.T) {
	n := startNode(t, clusterVars(t))
	rcv := newReceiver(t)
	admin := adminToken(t, n)
	url := strings.Replace(rcv.srv.URL, "127.0.0.1", "localhost", 1)
	hookID, secret := createHook(t, n, admin, url, "ticket.created")
	rcv.setSecret(secret)
	if code := api(t, "POST", n.url+"/api/v1/tickets", admin, map[string]any{"unit": "general", "subject": "s", "text": "t", "email": "e@example.com"}, nil); code != 201 {
		t.Fatal(code)
	}
	var log struct {
		Items []struct {
			LastError string `json:"last_error"`
			Attempts  int
		} `json:"items"`
	}
	if !waitUntil(20*time.Second, func() bool {
		api(t, "GET", n.url+"/api/v1/webhooks/"+hookID+"/deliveries", admin, nil, &log)
		return len(log.Items) == 1 && log.Items[0].Attempts > 0 && log.Items[0].LastError != ""
	}) {
		t.Fatalf("log %+v", log)
	}
	if !strings.Contains(log.Items[0].LastError, "private") {
		t.Errorf("last error %q", log.Items[0].LastError)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.tries) != 0 {
		t.Errorf("the private target was reached: %v", rcv.tries)
	}
	var e struct{ Error struct{ Code string } }
	if code := api(t, "POST", n.url+"/api/v1/webhooks", admin, map[string]any{"url": "ftp://example.com", "events": []string{"ticket.created"}}, &e); code != 400 {
		t.Errorf("an ftp webhook: %d", code)
	}
	if code := api(t, "POST", n.url+"/api/v1/webhooks", admin, map[string]any{"url": "https://example.com", "events": []string{"ticket.deleted"}}, &e); code != 400 {
		t.Errorf("an unknown event: %d", code)
	}
}

// TestWebhookOneNodeDeliversEach: two nodes deliver from one outbox, and
// each delivery reaches the receiver once.
func TestWebhookOneNodeDeliversEach(t *testing.T) {
	vars := clusterVars(t, "CHAT_WEBHOOK_ALLOW_PRIVATE", "1")
	n1, n2 := startNode(t, vars), startNode(t, vars)
	rcv := newReceiver(t)
	admin := adminToken(t, n1)
	_, secret := createHook(t, n1, admin, rcv.srv.URL, "ticket.created", "ticket.replied")
	rcv.setSecret(secret)
	_, key := createKey(t, n1, admin)
	const tickets = 20
	for i := range tickets {
		n := []*node{n1, n2}[i%2]
		var tk ticketJSON
		if code := api(t, "POST", n.url+"/api/v1/tickets", key, map[string]any{"unit": "general", "subject": fmt.Sprint("matter ", i), "text": "t", "email": fmt.Sprintf("c%d@example.com", i)}, &tk); code != 201 {
			t.Fatal(code)
		}
		if code := api(t, "POST", n.url+"/api/v1/tickets/"+tk.ID+"/replies", key, map[string]any{"text": "answer"}, nil); code != 201 {
			t.Fatal(code)
		}
	}
	rcv.waitFor(t, map[string]int{"ticket.created": tickets, "ticket.replied": tickets})
	time.Sleep(2 * time.Second) // a second delivery of any would show now
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.ok) != 2*tickets {
		t.Errorf("%d deliveries, want %d", len(rcv.ok), 2*tickets)
	}
	for id, k := range rcv.tries {
		if k != 1 {
			t.Errorf("delivery %s arrived %d times", id, k)
		}
	}
}
