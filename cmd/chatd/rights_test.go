package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// End-to-end tests of the customer's rights: a visitor takes out
// everything held about them and erases it, and an admin does both for a
// customer by email.

// apiKeyed is api with an Idempotency-Key header.
func apiKeyed(t *testing.T, method, url, token, key string, body any, into any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if into != nil {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

// rowsMatching counts the rows of table whose column holds one of the
// needles (a direct look at the database, behind chatd's back).
func rowsMatching(t *testing.T, n *node, table, where string, args ...any) int {
	t.Helper()
	var k int
	if err := rawDB(t, n).QueryRow(rebind(n, "SELECT COUNT(*) FROM "+table+" WHERE "+where), args...).Scan(&k); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return k
}

type exportBody struct {
	Visitor struct{ ID, Name, Email string }
	Tokens  []map[string]any
	Chats   []struct {
		ID, Status    string
		RatingComment string `json:"rating_comment"`
		Rating        int
		Messages      []struct{ Text string }
	}
	Tickets []struct {
		ID, Subject string
		Replies     []struct{ Text string }
	}
}

// TestVisitorExportAndErasure: a visitor's export holds their chats with
// messages and rating, their tickets with replies, their record and
// devices, and nothing of another visitor's nor any internal note; their
// erasure closes their open chat (freeing the agent's slot), closes their
// socket on another node, revokes every token, deletes their rows from
// every table (webhook bodies and stored answers included) and leaves the
// other visitor's alone; the audit keeps that it happened and the chain
// verifies.
func TestVisitorExportAndErasure(t *testing.T) {
	vars := clusterVars(t, "CHAT_WEBHOOK_ALLOW_PRIVATE", "1")
	n := startNode(t, vars)
	n2 := startNode(t, vars)
	admin := adminToken(t, n)
	rcv := newReceiver(t)
	_, secret := createHook(t, n, admin, rcv.srv.URL, "ticket.created", "ticket.replied", "chat.closed")
	rcv.setSecret(secret)
	_, key := createKey(t, n, admin)
	sue := createStaff(t, n, "Sue", "supervisor", []string{"general"}, 2)
	agent, _ := dialStaff(t, n, sue, true)

	var a, b map[string]string
	api(t, "POST", n.url+"/api/v1/visitors", "", map[string]string{"name": "Ayşe", "email": "ayse@example.com"}, &a)
	api(t, "POST", n.url+"/api/v1/visitors", "", map[string]string{"name": "Bora"}, &b)
	aID, aTok, bID, bTok := a["visitor_id"], a["token"], b["visitor_id"], b["token"]
	// A second device of Ayşe's: another token of the same visitor cannot
	// be made without identity, so the second socket uses the same token
	// on the other node.
	va, _ := dialVisitor(t, n2, aTok)
	vb, _ := dialVisitor(t, n, bTok)

	// Ayşe: a finished chat with a reply, a note and a rating; then an open one.
	c1 := startChat(t, va, "general", "ayse-first "+rawIBAN)
	agent.expect("chat.assigned", forChat(c1))
	agent.call(map[string]any{"type": "message", "chat_id": c1, "text": "ayse-agent-reply"})
	agent.call(map[string]any{"type": "note", "chat_id": c1, "text": "internal-note-marker"})
	va.expect("message", bySeq(c1, 2))
	va.call(map[string]any{"type": "chat.close", "chat_id": c1})
	va.call(map[string]any{"type": "csat", "chat_id": c1, "rating": 5, "comment": "ayse-csat"})
	c2 := startChat(t, va, "general", "ayse-open-chat")
	agent.expect("chat.assigned", forChat(c2))
	// Bora's chat fills Sue's second slot.
	cb := startChat(t, vb, "general", "bora-chat")
	agent.expect("chat.assigned", forChat(cb))

	// Ayşe's written request (offline form, with an Idempotency-Key), a
	// staff reply and a note; and an integrator's request for her.
	var tk struct{ ID string }
	if code := apiKeyed(t, "POST", n.url+"/api/v1/tickets", aTok, "ayse-key-1", map[string]any{"unit": "general", "subject": "ayse-subject", "text": "ayse-ticket-text"}, &tk); code != 201 {
		t.Fatalf("offline form: %d", code)
	}
	api(t, "POST", n.url+"/api/v1/tickets/"+tk.ID+"/replies", sue.token, map[string]any{"text": "ayse-ticket-reply"}, nil)
	api(t, "POST", n.url+"/api/v1/tickets/"+tk.ID+"/replies", sue.token, map[string]any{"text": "internal-ticket-note", "internal": true}, nil)
	var tk2 struct{ ID string }
	if code := apiKeyed(t, "POST", n.url+"/api/v1/tickets", key, "crm-1", map[string]any{"unit": "technical", "subject": "ayse-crm", "text": "ayse-crm-text", "visitor_id": aID}, &tk2); code != 201 {
		t.Fatalf("integrator's ticket: %d", code)
	}
	var tb struct{ ID string }
	api(t, "POST", n.url+"/api/v1/tickets", bTok, map[string]any{"unit": "general", "subject": "bora-subject", "text": "bora-ticket-text"}, &tb)
	rcv.waitFor(t, map[string]int{"ticket.created": 3, "ticket.replied": 1, "chat.closed": 1})

	// The export.
	var x exportBody
	if code := api(t, "GET", n.url+"/api/v1/visitor/export", aTok, nil, &x); code != 200 {
		t.Fatalf("export: %d", code)
	}
	raw, _ := json.Marshal(x)
	all := string(raw)
	if x.Visitor.ID != aID || x.Visitor.Email != "ayse@example.com" || len(x.Tokens) != 1 || len(x.Chats) != 2 || len(x.Tickets) != 2 {
		t.Fatalf("export: %s", all)
	}
	if x.Chats[0].ID != c1 || x.Chats[0].Rating != 5 || x.Chats[0].RatingComment != "ayse-csat" || len(x.Chats[0].Messages) != 2 {
		t.Errorf("the finished chat: %+v", x.Chats[0])
	}
	for _, want := range []string{"ayse-first TR** **** **** **** **** **13 26", "ayse-agent-reply", "ayse-open-chat", "ayse-subject", "ayse-ticket-text", "ayse-ticket-reply", "ayse-crm-text"} {
		if !strings.Contains(all, want) {
			t.Errorf("the export lacks %q: %s", want, all)
		}
	}
	for _, not := range []string{"internal-note-marker", "internal-ticket-note", "bora", bID, cb, tb.ID, "TR33 0006", "token\":\"v2"} {
		if strings.Contains(all, not) {
			t.Errorf("the export holds %q: %s", not, all)
		}
	}
	if code := api(t, "GET", n.url+"/api/v1/visitor/export", sue.token, nil, nil); code != 403 {
		t.Errorf("staff on the visitor's own export: %d", code)
	}

	// The erasure.
	var er struct{ Erased map[string]int }
	if code := api(t, "DELETE", n.url+"/api/v1/visitor", aTok, nil, &er); code != 200 {
		t.Fatalf("erase: %d", code)
	}
	if er.Erased["visitors"] != 1 || er.Erased["chats"] != 2 || er.Erased["tickets"] != 2 || er.Erased["tokens"] != 1 || er.Erased["webhook_deliveries"] < 3 || er.Erased["idempotency_keys"] < 2 {
		t.Errorf("erased %v", er.Erased)
	}
	if code := va.closed(); code != 4001 {
		t.Errorf("the visitor's socket on the other node closed with %d, want 4001", code)
	}
	if f := agent.expect("chat.closed", forChat(c2)); f.str("reason") != "visitor_erased" {
		t.Errorf("the open chat closed with %v", f)
	}
	if code := api(t, "GET", n.url+"/api/v1/visitor/token", aTok, nil, nil); code != 401 {
		t.Errorf("the erased visitor's token: %d, want 401", code)
	}
	if status, _ := dialStatus(t, wsURL(n2, "/ws/visitor?token="+aTok), nil); status != 401 {
		t.Errorf("the erased visitor's socket: %d, want 401", status)
	}
	// Sue's slot is free: a new chat is hers at once.
	vc, _ := newVisitor(t, n)
	cc := startChat(t, vc, "general", "carol")
	agent.expect("chat.assigned", forChat(cc))

	// Nothing of Ayşe's is left in any table; Bora's is all there.
	ids := []any{aID, c1, c2, tk.ID, tk2.ID}
	for _, check := range []struct{ table, where string }{
		{"visitors", "id = ?"}, {"visitor_tokens", "visitor_id = ?"}, {"chats", "visitor_id = ?"}, {"tickets", "visitor_id = ?"},
		{"messages", "chat_id = ? OR chat_id = ?"}, {"assignments", "chat_id = ? OR chat_id = ?"},
		{"ticket_messages", "ticket_id = ? OR ticket_id = ?"}, {"ticket_events", "ticket_id = ? OR ticket_id = ?"},
	} {
		args := ids[:strings.Count(check.where, "?")]
		if check.table == "messages" || check.table == "assignments" {
			args = []any{c1, c2}
		}
		if strings.HasPrefix(check.table, "ticket_") {
			args = []any{tk.ID, tk2.ID}
		}
		if k := rowsMatching(t, n, check.table, check.where, args...); k != 0 {
			t.Errorf("%d row(s) of the erased visitor left in %s", k, check.table)
		}
	}
	for _, table := range []string{"webhook_deliveries", "idempotency_keys"} {
		if k := rowsMatching(t, n, table, "body LIKE ? OR body LIKE ? OR body LIKE ?", "%ayse%", "%"+aID+"%", "%"+tk.ID+"%"); k != 0 {
			t.Errorf("%d row(s) of %s still name the erased visitor", k, table)
		}
	}
	if k := rowsMatching(t, n, "idempotency_keys", "scope = ?", "v:"+aID); k != 0 {
		t.Errorf("%d stored answer(s) of the erased visitor", k)
	}
	if k := rowsMatching(t, n, "messages", "chat_id = ?", cb); k != 1 {
		t.Errorf("the other visitor's chat has %d message(s) left", k)
	}
	if k := rowsMatching(t, n, "tickets", "visitor_id = ?", bID); k != 1 {
		t.Errorf("the other visitor has %d ticket(s) left", k)
	}
	if k := rowsMatching(t, n, "webhook_deliveries", "body LIKE ?", "%bora-ticket-text%"); k != 1 {
		t.Errorf("the other visitor's ticket.created delivery: %d row(s)", k)
	}
	var bx exportBody
	if code := api(t, "GET", n.url+"/api/v1/visitor/export", bTok, nil, &bx); code != 200 || len(bx.Chats) != 1 || len(bx.Tickets) != 1 {
		t.Errorf("the other visitor's export after the erasure: %d %+v", code, bx)
	}

	// The audit keeps that it happened, never the content, and verifies.
	rows := auditRows(t, n, aID)
	for _, want := range []string{"visitor.exported visitor", "visitor.erased visitor"} {
		if !hasRow(rows, want) {
			t.Errorf("audit rows of the visitor: %v, want %q", rows, want)
		}
	}
	for _, r := range auditQuery(t, n, admin, "action=visitor.*") {
		if s, _ := json.Marshal(r); strings.Contains(string(s), "ayse") || strings.Contains(string(s), "Ayşe") {
			t.Errorf("an audit row holds the content: %s", s)
		}
	}
	if out, err := cli(t, vars, "audit", "verify"); err != nil {
		t.Errorf("audit verify after the erasure: %v\n%s", err, out)
	}
}

// TestAdminExportAndErasureByEmail: an admin exports and erases a
// customer by email: every visitor record with that email (any case) and
// the tickets requested under it; agents and supervisors get 403 and the
// try is audited; an email nobody gave is 404.
func TestAdminExportAndErasureByEmail(t *testing.T) {
	vars := clusterVars(t)
	n := startNode(t, vars)
	admin := adminToken(t, n)
	_, key := createKey(t, n, admin)
	sup := createStaff(t, n, "Sue", "supervisor", []string{"general"}, 2)
	ag := createStaff(t, n, "Ali", "agent", []string{"general"}, 2)

	var d1, d2, other map[string]string
	api(t, "POST", n.url+"/api/v1/visitors", "", map[string]string{"name": "Dora", "email": "dora@example.com"}, &d1)
	api(t, "POST", n.url+"/api/v1/visitors", "", map[string]string{"name": "Dora", "email": "Dora@Example.com"}, &d2)
	api(t, "POST", n.url+"/api/v1/visitors", "", map[string]string{"name": "Eda", "email": "eda@example.com"}, &other)
	api(t, "POST", n.url+"/api/v1/tickets", d1["token"], map[string]any{"unit": "general", "text": "dora-device-one"}, nil)
	v2, _ := dialVisitor(t, n, d2["token"])
	startChat(t, v2, "general", "dora-device-two")
	var byEmail struct{ ID string }
	api(t, "POST", n.url+"/api/v1/tickets", key, map[string]any{"unit": "financial", "text": "dora-by-email", "email": "dora@example.com"}, &byEmail)
	api(t, "POST", n.url+"/api/v1/tickets", other["token"], map[string]any{"unit": "general", "text": "eda-text"}, nil)

	for _, who := range []staffAccount{sup, ag} {
		if code := api(t, "GET", n.url+"/api/v1/visitors/export?email=dora@example.com", who.token, nil, nil); code != 403 {
			t.Errorf("%s's export: %d, want 403", who.name, code)
		}
		if code := api(t, "DELETE", n.url+"/api/v1/visitors?email=dora@example.com", who.token, nil, nil); code != 403 {
			t.Errorf("%s's erasure: %d, want 403", who.name, code)
		}
	}
	if code := api(t, "GET", n.url+"/api/v1/visitors/export?email=dora@example.com", d1["token"], nil, nil); code != 403 {
		t.Errorf("a visitor on the admin's export: %d", code)
	}
	var x struct {
		Email    string
		Visitors []exportBody
		Tickets  []struct{ ID string }
	}
	if code := api(t, "GET", n.url+"/api/v1/visitors/export?email=DORA@example.com", admin, nil, &x); code != 200 {
		t.Fatalf("admin export: %d", code)
	}
	raw, _ := json.Marshal(x)
	if len(x.Visitors) != 2 || len(x.Tickets) != 1 || x.Tickets[0].ID != byEmail.ID ||
		!strings.Contains(string(raw), "dora-device-one") || !strings.Contains(string(raw), "dora-device-two") || strings.Contains(string(raw), "eda") {
		t.Errorf("admin export by email: %s", raw)
	}
	if code := api(t, "GET", n.url+"/api/v1/visitors/export?visitor_id="+d1["visitor_id"], admin, nil, &x); code != 200 || len(x.Visitors) != 1 {
		t.Errorf("admin export by id: %d %d", code, len(x.Visitors))
	}
	for _, q := range []string{"", "?email=x@example.com&visitor_id=y", "?email=nobody"} {
		if code := api(t, "GET", n.url+"/api/v1/visitors/export"+q, admin, nil, nil); code != 400 {
			t.Errorf("export%s: %d, want 400", q, code)
		}
	}
	if code := api(t, "GET", n.url+"/api/v1/visitors/export?email=nobody@example.com", admin, nil, nil); code != 404 {
		t.Errorf("export of an unknown email: %d, want 404", code)
	}

	var er struct{ Erased map[string]int }
	if code := api(t, "DELETE", n.url+"/api/v1/visitors?email=dora@example.com", admin, nil, &er); code != 200 {
		t.Fatalf("admin erase: %d", code)
	}
	if er.Erased["visitors"] != 2 || er.Erased["tickets"] != 2 || er.Erased["chats"] != 1 {
		t.Errorf("erased %v", er.Erased)
	}
	if code := v2.closed(); code != 4001 {
		t.Errorf("the customer's socket closed with %d", code)
	}
	if k := rowsMatching(t, n, "visitors", "LOWER(email) = ?", "dora@example.com"); k != 0 {
		t.Errorf("%d visitor(s) left", k)
	}
	if k := rowsMatching(t, n, "tickets", "LOWER(email) = ?", "dora@example.com"); k != 0 {
		t.Errorf("%d ticket(s) left", k)
	}
	if k := rowsMatching(t, n, "ticket_messages", "text LIKE ?", "dora-%"); k != 0 {
		t.Errorf("%d ticket entries left", k)
	}
	if k := rowsMatching(t, n, "messages", "text LIKE ?", "dora-%"); k != 0 {
		t.Errorf("%d message(s) left", k)
	}
	if k := rowsMatching(t, n, "visitors", "id = ?", other["visitor_id"]); k != 1 {
		t.Errorf("the other customer was erased too")
	}
	if code := api(t, "DELETE", n.url+"/api/v1/visitors?email=dora@example.com", admin, nil, nil); code != 404 {
		t.Errorf("a second erasure: %d, want 404", code)
	}
	var rows []string
	for _, r := range auditQuery(t, n, admin, "action=visitor.*") {
		rows = append(rows, r["action"].(string)+" "+r["actor_kind"].(string))
	}
	for _, want := range []string{"visitor.exported admin", "visitor.erased admin", "visitor.export.denied supervisor", "visitor.erase.denied agent"} {
		if !hasRow(rows, want) {
			t.Errorf("audit: %v, want %q", rows, want)
		}
	}
	if out, err := cli(t, vars, "audit", "verify"); err != nil {
		t.Errorf("audit verify: %v\n%s", err, out)
	}
}

// visitorIDOf returns the visitor id a token names.
func visitorIDOf(t *testing.T, n *node, token string) string {
	t.Helper()
	var out struct {
		VisitorID string `json:"visitor_id"`
	}
	if code := api(t, "GET", n.url+"/api/v1/visitor/token", token, nil, &out); code != 200 {
		t.Fatalf("visitor token: %d", code)
	}
	return out.VisitorID
}

// TestVisitorsCommand: `chatd visitors export` prints a customer's data as
// JSON and `chatd visitors erase` erases it (closing their sockets through
// the cluster's Redis), audited as the command line's; a customer with an
// open chat is refused until it closes.
func TestVisitorsCommand(t *testing.T) {
	vars := clusterVars(t)
	n := startNode(t, vars)
	var f map[string]string
	api(t, "POST", n.url+"/api/v1/visitors", "", map[string]string{"name": "Fatma", "email": "fatma@example.com"}, &f)
	api(t, "POST", n.url+"/api/v1/tickets", f["token"], map[string]any{"unit": "general", "text": "fatma-ticket"}, nil)
	v, _ := dialVisitor(t, n, f["token"])
	chatID := startChat(t, v, "general", "fatma-chat")

	out, err := cli(t, vars, "visitors", "export", "--email", "FATMA@example.com")
	var x struct {
		Visitors []exportBody
	}
	if err != nil || json.Unmarshal([]byte(out), &x) != nil || len(x.Visitors) != 1 || len(x.Visitors[0].Tickets) != 1 || len(x.Visitors[0].Chats) != 1 {
		t.Fatalf("export: %v %s", err, out)
	}
	if out, err := cli(t, vars, "visitors", "erase", "--email", "fatma@example.com"); err == nil || !strings.Contains(err.Error(), "open chat") {
		t.Fatalf("erase with an open chat: %v %s", err, out)
	}
	v.call(map[string]any{"type": "chat.close", "chat_id": chatID})
	out, err = cli(t, vars, "visitors", "erase", "--email", "fatma@example.com")
	if err != nil || !strings.Contains(out, "erased 1 visitor record(s), 1 chat(s)") {
		t.Fatalf("erase: %v %s", err, out)
	}
	if code := v.closed(); code != 4001 {
		t.Errorf("the customer's socket closed with %d", code)
	}
	if k := rowsMatching(t, n, "visitors", "id = ?", f["visitor_id"]); k != 0 {
		t.Error("the visitor is still there")
	}
	if !hasRow(auditRows(t, n, f["visitor_id"]), "visitor.erased system") || !hasRow(auditRows(t, n, f["visitor_id"]), "visitor.exported system") {
		t.Errorf("audit: %v", auditRows(t, n, f["visitor_id"]))
	}
	if out, err := cli(t, vars, "visitors", "erase", "--email", "fatma@example.com"); err == nil {
		t.Errorf("a second erasure: %s", out)
	}
	if out, err := cli(t, vars, "visitors", "--help"); err != nil || !strings.Contains(out, "--visitor-id") {
		t.Errorf("visitors --help: %v %s", err, out)
	}
	if out, err := cli(t, vars, "audit", "verify"); err != nil {
		t.Errorf("audit verify: %v %s", err, out)
	}
}
