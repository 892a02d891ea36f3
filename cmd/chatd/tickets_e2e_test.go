package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// ticketJSON is a ticket as the API answers it.
type ticketJSON struct {
	ID         string `json:"id"`
	Unit       string `json:"unit"`
	Status     string `json:"status"`
	Subject    string `json:"subject"`
	Text       string `json:"text"`
	Email      string `json:"email"`
	ChatID     string `json:"chat_id"`
	MergedInto string `json:"merged_into"`
	From       struct{ Kind, ID, Name string }
	Replies    []struct {
		From     struct{ Kind, ID, Name string }
		Text     string `json:"text"`
		Internal bool   `json:"internal"`
	} `json:"replies"`
	Events []struct{ Kind, From, To string } `json:"events"`
	Queue  *struct {
		Position int      `json:"position"`
		Expected *float64 `json:"expected_first_reply_seconds"`
	} `json:"queue"`
}

type listJSON struct {
	Items []struct {
		ID, Kind, Unit, Status, Subject, Text, MergedInto string
		TicketID                                          string `json:"ticket_id"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// auditRows returns the audit rows of objectID (newest first) as "action actor_kind".
func auditRows(t *testing.T, n *node, objectID string) []string {
	t.Helper()
	rows, err := n.DB.AuditLog(context.Background(), chat.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		if strings.Contains(r.ObjectID, objectID) {
			out = append(out, r.Action+" "+r.ActorKind)
		}
	}
	return out
}

func hasRow(rows []string, want string) bool {
	for _, r := range rows {
		if r == want {
			return true
		}
	}
	return false
}

// TestWrittenChannel: the offline form, a repeated request merged, the
// visitor's history, replies both ways with the moves they cause, staff
// of the unit only, and every look audited.
func TestWrittenChannel(t *testing.T) {
	n := startNode(t, clusterVars(t))
	_, tok := createVisitor(t, n)
	_, other := createVisitor(t, n)
	ece := createStaff(t, n, "Ece", "agent", []string{"account"}, 3)
	tom := createStaff(t, n, "Tom", "agent", []string{"technical"}, 3)

	var tk ticketJSON
	if code := api(t, "POST", n.url+"/api/v1/tickets", tok, map[string]any{"unit": "auto", "subject": "Şifremi unuttum", "text": "Hesabıma giremiyorum, şifre sıfırlama e-postası gelmedi. Kartım 4111 1111 1111 1111", "email": "ayse@example.com"}, &tk); code != 201 {
		t.Fatalf("offline form: %d %+v", code, tk)
	}
	if tk.Unit != "account" || tk.Status != "open" || tk.From.Kind != "visitor" || strings.Contains(tk.Text, "4111 1111 1111 1111") || tk.Queue == nil || tk.Queue.Position != 1 {
		t.Fatalf("ticket %+v", tk)
	}
	var merged struct {
		MergedInto string     `json:"merged_into"`
		Ticket     ticketJSON `json:"ticket"`
	}
	if code := api(t, "POST", n.url+"/api/v1/tickets", tok, map[string]any{"unit": "account", "subject": "SIFREMI UNUTTUM", "text": "hala gelmedi"}, &merged); code != 200 || merged.MergedInto != tk.ID {
		t.Fatalf("repeated request: %d %+v", code, merged)
	}
	// The visitor's history, newest first.
	var hist listJSON
	if code := api(t, "GET", n.url+"/api/v1/visitor/history", tok, nil, &hist); code != 200 || len(hist.Items) != 1 || hist.Items[0].Kind != "ticket" || hist.Items[0].ID != tk.ID {
		t.Fatalf("history: %d %+v", code, hist)
	}
	// Another visitor and another unit see nothing, and the tries are audited.
	var e struct{ Error struct{ Code string } }
	if code := api(t, "GET", n.url+"/api/v1/tickets/"+tk.ID, other, nil, &e); code != 404 || e.Error.Code != "not_found" {
		t.Fatalf("another visitor reads the ticket: %d %+v", code, e)
	}
	if code := api(t, "POST", n.url+"/api/v1/tickets/"+tk.ID+"/replies", other, map[string]string{"text": "x"}, &e); code != 404 {
		t.Fatalf("another visitor replies: %d", code)
	}
	if code := api(t, "GET", n.url+"/api/v1/tickets/"+tk.ID, tom.token, nil, &e); code != 404 {
		t.Fatalf("an agent of another unit reads the ticket: %d", code)
	}
	var list listJSON
	if code := api(t, "GET", n.url+"/api/v1/tickets?limit=50", tom.token, nil, &list); code != 200 || len(list.Items) != 0 {
		t.Fatalf("another unit's queue shows %+v", list)
	}
	if code := api(t, "GET", n.url+"/api/v1/tickets?status=open&limit=50", ece.token, nil, &list); code != 200 || len(list.Items) != 1 || list.Items[0].ID != tk.ID {
		t.Fatalf("the unit's queue: %d %+v", code, list)
	}
	var staffView ticketJSON
	if code := api(t, "GET", n.url+"/api/v1/tickets/"+tk.ID, ece.token, nil, &staffView); code != 200 || len(staffView.Replies) != 1 {
		t.Fatalf("staff reads: %d %+v", code, staffView)
	}
	rows := auditRows(t, n, tk.ID)
	for _, want := range []string{"ticket.read.denied visitor", "ticket.reply.denied visitor", "ticket.read.denied agent", "ticket.read agent"} {
		if !hasRow(rows, want) {
			t.Errorf("audit of %s lacks %q: %v", tk.ID, want, rows)
		}
	}
	// Staff answer, note and set it pending; the customer's answer reopens it.
	if code := api(t, "POST", n.url+"/api/v1/tickets/"+tk.ID+"/replies", ece.token, map[string]any{"text": "Yeni bağlantı gönderdik."}, nil); code != 201 {
		t.Fatalf("staff reply %d", code)
	}
	if code := api(t, "POST", n.url+"/api/v1/tickets/"+tk.ID+"/replies", ece.token, map[string]any{"text": "kimlik doğrulaması bekleniyor", "internal": true}, nil); code != 201 {
		t.Fatalf("staff note %d", code)
	}
	if code := api(t, "POST", n.url+"/api/v1/tickets/"+tk.ID+"/replies", tok, map[string]any{"text": "x", "internal": true}, &e); code != 403 {
		t.Fatalf("a visitor's note: %d", code)
	}
	var moved ticketJSON
	if code := api(t, "PATCH", n.url+"/api/v1/tickets/"+tk.ID, ece.token, map[string]any{"status": "pending"}, &moved); code != 200 || moved.Status != "pending" {
		t.Fatalf("pending: %d %+v", code, moved)
	}
	if code := api(t, "PATCH", n.url+"/api/v1/tickets/"+tk.ID, tok, map[string]any{"status": "solved"}, &e); code != 403 {
		t.Fatalf("a visitor moves the ticket: %d", code)
	}
	if code := api(t, "POST", n.url+"/api/v1/tickets/"+tk.ID+"/replies", tok, map[string]any{"text": "Geldi, teşekkürler"}, nil); code != 201 {
		t.Fatalf("visitor reply %d", code)
	}
	var mine ticketJSON
	if code := api(t, "GET", n.url+"/api/v1/tickets/"+tk.ID, tok, nil, &mine); code != 200 || mine.Status != "open" {
		t.Fatalf("after the customer's answer: %d %+v", code, mine)
	}
	// Open again, it is in the staff queue, and the customer sees its place there.
	if code := api(t, "GET", n.url+"/api/v1/tickets?unit=account", ece.token, nil, &list); code != 200 || len(list.Items) != 1 || list.Items[0].ID != tk.ID ||
		mine.Queue == nil || mine.Queue.Position != 1 {
		t.Fatalf("reopened: staff queue %+v, customer's place %+v", list.Items, mine.Queue)
	}
	if len(mine.Replies) != 3 || mine.Replies[1].From.Name != "Ece" || mine.Replies[2].From.Kind != "visitor" {
		t.Fatalf("the visitor's view: %+v", mine.Replies)
	}
	for _, r := range mine.Replies {
		if r.Internal || strings.Contains(r.Text, "kimlik") {
			t.Fatalf("the visitor sees an internal note: %+v", mine.Replies)
		}
	}
	for _, step := range []struct {
		status string
		code   int
	}{{"solved", 200}, {"closed", 200}, {"open", 409}} {
		if code := api(t, "PATCH", n.url+"/api/v1/tickets/"+tk.ID, ece.token, map[string]any{"status": step.status}, &e); code != step.code {
			t.Fatalf("move to %s: %d %+v", step.status, code, e)
		}
	}
	if e.Error.Code != "illegal_transition" {
		t.Errorf("reopening a closed ticket: %+v", e)
	}
	if code := api(t, "POST", n.url+"/api/v1/tickets/"+tk.ID+"/replies", tok, map[string]any{"text": "bir şey daha"}, &e); code != 409 || e.Error.Code != "illegal_transition" {
		t.Fatalf("a reply to a closed ticket: %d %+v", code, e)
	}
	// Staff read the visitor's history (audited); a new request opens a new ticket.
	var fresh ticketJSON
	if code := api(t, "POST", n.url+"/api/v1/tickets", tok, map[string]any{"unit": "account", "subject": "Şifremi unuttum", "text": "yine"}, &fresh); code != 201 || fresh.ID == tk.ID {
		t.Fatalf("a new request after close: %d %+v", code, fresh)
	}
	vid := mine.From.ID
	if code := api(t, "GET", n.url+"/api/v1/visitors/"+vid+"/history", ece.token, nil, &hist); code != 200 || len(hist.Items) != 2 {
		t.Fatalf("staff history of the visitor: %d %+v", code, hist)
	}
	// Staff of a unit where the visitor has nothing cannot tell them from a
	// visitor id that names nobody, and the try is on the log.
	if code := api(t, "GET", n.url+"/api/v1/visitors/"+vid+"/history", tom.token, nil, &e); code != 404 || e.Error.Code != "not_found" {
		t.Fatalf("another unit's staff on the visitor's history: %d %+v", code, e)
	}
	if code := api(t, "GET", n.url+"/api/v1/visitors/no-such-visitor/history", tom.token, nil, &e); code != 404 || e.Error.Code != "not_found" {
		t.Fatalf("an unknown visitor's history: %d %+v", code, e)
	}
	if code := api(t, "GET", n.url+"/api/v1/visitors/"+vid+"/history", adminToken(t, n), nil, &hist); code != 200 || len(hist.Items) != 2 {
		t.Fatalf("an admin on the visitor's history: %d %+v", code, hist)
	}
	if rows := auditRows(t, n, vid); !hasRow(rows, "visitor.read agent") || !hasRow(rows, "visitor.read.denied agent") {
		t.Errorf("staff looks at a visitor's history are not audited: %v", rows)
	}
}

// TestTranscripts: the record of a closed chat in every format, for its
// visitor (no notes) and staff of its unit (notes, assignment record), and
// not for anyone else.
func TestTranscripts(t *testing.T) {
	n := startNode(t, clusterVars(t))
	v, tok := newVisitor(t, n)
	ag, _ := newAgent(t, n, "Ece", []string{"general"}, 3)
	tom := createStaff(t, n, "Tom", "agent", []string{"technical"}, 3)
	sup := createStaff(t, n, "Sue", "supervisor", []string{"general"}, 3)
	_, other := createVisitor(t, n)
	chatID := startChat(t, v, "general", "Merhaba <script>alert(1)</script>")
	ag.expect("chat.assigned", forChat(chatID))
	ag.call(map[string]any{"type": "message", "chat_id": chatID, "text": "Hoş geldiniz & merhaba"})
	ag.call(map[string]any{"type": "note", "chat_id": chatID, "text": "secret note"})
	v.call(map[string]any{"type": "chat.close", "chat_id": chatID})
	v.call(map[string]any{"type": "csat", "chat_id": chatID, "rating": 5, "comment": "çok iyi"})

	get := func(token, query string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", n.url+"/api/v1/transcripts/"+chatID+query, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		checkResponse(t, req, resp, b)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	code, ctype, body := get(tok, "?format=html&lang=tr")
	if code != 200 || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(body, "Görüşme dökümü") || strings.Contains(body, "<script>alert") ||
		!strings.Contains(body, "&lt;script&gt;") || strings.Contains(body, "secret note") || !strings.Contains(body, "çok iyi") {
		t.Fatalf("visitor html: %d %s\n%s", code, ctype, body)
	}
	if _, _, body := get(tok, "?format=html"); !strings.Contains(body, "Chat transcript") {
		t.Errorf("English by default: %s", body)
	}
	code, _, body = get(tok, "?format=txt")
	if code != 200 || !strings.Contains(body, "Hoş geldiniz & merhaba") || strings.Contains(body, "secret note") {
		t.Fatalf("visitor txt: %d %s", code, body)
	}
	code, _, body = get(tok, "?format=json")
	if code != 200 || strings.Contains(body, "secret note") || !strings.Contains(body, `"close_reason": "visitor_closed"`) || !strings.Contains(body, `"rating": 5`) ||
		!strings.Contains(body, `"first_response_seconds"`) {
		t.Fatalf("visitor json: %d %s", code, body)
	}
	code, _, body = get(sup.token, "?format=json")
	if code != 200 || !strings.Contains(body, "secret note") || !strings.Contains(body, `"kind": "assigned"`) || !strings.Contains(body, `"name": "Ece"`) {
		t.Fatalf("supervisor json: %d %s", code, body)
	}
	for _, who := range []string{other, tom.token} {
		if code, _, _ := get(who, "?format=json"); code != 404 {
			t.Fatalf("a stranger reads the transcript: %d", code)
		}
	}
	if code, _, _ := get(tok, "?format=pdf"); code != 400 {
		t.Fatalf("format=pdf: %d", code)
	}
	rows := auditRows(t, n, chatID)
	for _, want := range []string{"transcript.read supervisor", "transcript.read.denied visitor", "transcript.read.denied agent"} {
		if !hasRow(rows, want) {
			t.Errorf("audit lacks %q: %v", want, rows)
		}
	}
	if hasRow(rows, "transcript.read visitor") {
		t.Error("a visitor's read of their own transcript is audited as a staff look")
	}
	var hist listJSON
	if code := api(t, "GET", n.url+"/api/v1/visitor/history", tok, nil, &hist); code != 200 || len(hist.Items) != 1 || hist.Items[0].Kind != "chat" || hist.Items[0].Status != chat.StatusClosed {
		t.Fatalf("history: %+v", hist)
	}
}

// TestHistoryPages: a visitor's chats and tickets, newest first, in pages
// that hold each exactly once.
func TestHistoryPages(t *testing.T) {
	n := startNode(t, clusterVars(t))
	v, tok := newVisitor(t, n)
	ag, _ := newAgent(t, n, "Ece", []string{"general"}, 3)
	var want []string
	for i := range 3 {
		id := startChat(t, v, "general", fmt.Sprintf("chat %d", i))
		ag.expect("chat.assigned", forChat(id))
		v.call(map[string]any{"type": "chat.close", "chat_id": id})
		want = append(want, id)
		var tk ticketJSON
		if code := api(t, "POST", n.url+"/api/v1/tickets", tok, map[string]any{"unit": "general", "subject": fmt.Sprintf("matter %d", i), "text": fmt.Sprintf("text %d", i)}, &tk); code != 201 {
			t.Fatal(code)
		}
		want = append(want, tk.ID)
		time.Sleep(2 * time.Millisecond)
	}
	var got []string
	cur := ""
	for range 10 {
		var page listJSON
		if code := api(t, "GET", n.url+"/api/v1/visitor/history?limit=2&cursor="+cur, tok, nil, &page); code != 200 {
			t.Fatal(code)
		}
		for _, it := range page.Items {
			got = append(got, it.ID)
		}
		if cur = page.NextCursor; cur == "" {
			break
		}
	}
	if len(got) != 6 {
		t.Fatalf("history pages: %v", got)
	}
	for i := range got {
		if got[i] != want[len(want)-1-i] {
			t.Fatalf("history order %v, want newest first of %v", got, want)
		}
	}
	var e struct{ Error struct{ Code string } }
	if code := api(t, "GET", n.url+"/api/v1/visitor/history?cursor=x'%20OR%201=1", tok, nil, &e); code != 400 || e.Error.Code != "invalid_request" {
		t.Fatalf("an injection-shaped cursor: %d %+v", code, e)
	}
}

// TestHostileQueryParameters: nothing shaped like SQL (or just wrong) in a
// query parameter reaches the database as such: every answer is a coded
// 4xx or an empty page, never a 500.
func TestHostileTicketQueryParameters(t *testing.T) {
	n := startNode(t, clusterVars(t))
	admin := adminToken(t, n)
	_, tok := createVisitor(t, n)
	evil := []string{"' OR 1=1 --", "1; DROP TABLE tickets", "%00", "\u0000", "\xff\xfe", "open' UNION SELECT * FROM api_keys --", strings.Repeat("x", 3000), "-1", "99999999999999999999"}
	for _, path := range []string{"/api/v1/tickets?status=", "/api/v1/tickets?unit=", "/api/v1/tickets?email=", "/api/v1/tickets?visitor_id=", "/api/v1/tickets?cursor=",
		"/api/v1/tickets?created_after=", "/api/v1/tickets?order=", "/api/v1/tickets?limit=", "/api/v1/tickets/", "/api/v1/canned-replies?unit=", "/api/v1/canned-replies?lang=",
		"/api/v1/visitors/", "/api/v1/transcripts/", "/api/v1/webhooks/"} {
		for _, v := range evil {
			for _, who := range []string{admin, tok} {
				url := n.url + path + urlEscape(v)
				if strings.HasPrefix(path, "/api/v1/visitors/") {
					url += "/history"
				}
				if strings.HasPrefix(path, "/api/v1/webhooks/") {
					url += "/deliveries"
				}
				var e struct{ Error struct{ Code string } }
				code := api(t, "GET", url, who, nil, &e)
				if code >= 500 || (code >= 400 && e.Error.Code == "") {
					t.Errorf("GET %s%q: %d %+v", path, v, code, e)
				}
			}
		}
	}
	// Bytes that are not UTF-8 (or a NUL) in a path parameter are the
	// client's invalid_request, however they are escaped (the router keeps
	// lowercase escapes as sent), on every method.
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/tickets/%ff"}, {"GET", "/api/v1/tickets/%FF"}, {"GET", "/api/v1/transcripts/%c3%28"},
		{"POST", "/api/v1/chats/%ff/escalate"}, {"GET", "/api/v1/visitors/%ff/history"}, {"GET", "/api/v1/tickets/a%00b"},
		{"GET", "/api/v1/webhooks/%fe/deliveries"},
	} {
		for _, who := range []string{admin, tok} {
			var e struct{ Error struct{ Code string } }
			if code := api(t, r.method, n.url+r.path, who, nil, &e); code != 400 || e.Error.Code != "invalid_request" {
				t.Errorf("%s %s: %d %+v, want 400 invalid_request", r.method, r.path, code, e)
			}
		}
	}
}

func urlEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// TestCannedReplies: defaults per unit in both languages; supervisors
// manage their units' replies, admins every one, agents none.
func TestCannedReplies(t *testing.T) {
	n := startNode(t, clusterVars(t))
	ece := createStaff(t, n, "Ece", "agent", []string{"account"}, 3)
	sue := createStaff(t, n, "Sue", "supervisor", []string{"account"}, 3)
	admin := adminToken(t, n)
	type reply struct{ ID, Unit, Lang, Title, Text string }
	var list struct{ Items []reply }
	if code := api(t, "GET", n.url+"/api/v1/canned-replies", ece.token, nil, &list); code != 200 {
		t.Fatal(code)
	}
	langs := map[string]bool{}
	for _, r := range list.Items {
		if r.Unit != "" && r.Unit != "account" {
			t.Errorf("an agent of account sees %s's reply %q", r.Unit, r.Title)
		}
		if r.Unit == "account" {
			langs[r.Lang] = true
		}
	}
	if !langs["tr"] || !langs["en"] {
		t.Errorf("no defaults for account in both languages: %+v", list.Items)
	}
	body := map[string]any{"unit": "account", "lang": "en", "title": "KYC", "text": "Please upload your ID."}
	var e struct{ Error struct{ Code string } }
	if code := api(t, "POST", n.url+"/api/v1/canned-replies", ece.token, body, &e); code != 403 {
		t.Fatalf("an agent adds a standard reply: %d", code)
	}
	var made reply
	if code := api(t, "POST", n.url+"/api/v1/canned-replies", sue.token, body, &made); code != 201 || made.ID == "" {
		t.Fatalf("a supervisor adds one: %d %+v", code, made)
	}
	body["unit"] = "technical"
	if code := api(t, "POST", n.url+"/api/v1/canned-replies", sue.token, body, &e); code != 403 {
		t.Fatalf("a supervisor adds one to another unit: %d", code)
	}
	if code := api(t, "PATCH", n.url+"/api/v1/canned-replies/"+made.ID, sue.token, map[string]any{"text": "Please upload a photo of your ID."}, &made); code != 200 || made.Text != "Please upload a photo of your ID." {
		t.Fatalf("edit: %d %+v", code, made)
	}
	if code := api(t, "PATCH", n.url+"/api/v1/canned-replies/"+made.ID, sue.token, map[string]any{"lang": "de"}, &e); code != 400 {
		t.Fatalf("lang de: %d", code)
	}
	if code := api(t, "POST", n.url+"/api/v1/canned-replies", admin, map[string]any{"unit": "", "lang": "tr", "title": "Genel", "text": "Merhaba"}, nil); code != 201 {
		t.Fatalf("an admin adds one for every unit: %d", code)
	}
	if code := api(t, "DELETE", n.url+"/api/v1/canned-replies/canned-greet-en", sue.token, nil, &e); code != 403 {
		t.Fatalf("a supervisor deletes a reply of every unit: %d", code)
	}
	if code := api(t, "DELETE", n.url+"/api/v1/canned-replies/"+made.ID, sue.token, nil, nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code := api(t, "GET", n.url+"/api/v1/webhooks", sue.token, nil, &e); code != 403 {
		t.Fatalf("a supervisor reads the webhooks: %d", code)
	}
	// Every change is on the audit log (a refused one changed nothing).
	if rows := auditRows(t, n, made.ID); strings.Join(rows, ",") != "canned.deleted supervisor,canned.changed supervisor,canned.created supervisor" {
		t.Errorf("audit rows of the standard reply: %v", rows)
	}
	all, err := n.DB.AuditLog(context.Background(), chat.AuditQuery{Action: "canned.*", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 || all[0].ActorKind != "supervisor" || all[1].ActorKind != "admin" || all[1].Detail != "unit=* lang=tr" {
		t.Errorf("standard reply audit rows: %+v", all)
	}
}

// TestBodiesAreCheckedAsSent: a REST body that is not UTF-8 is refused
// (never stored with U+FFFD in place of what was sent), and a field of the
// wrong type is refused naming the field, on every route that reads one.
func TestBodiesAreCheckedAsSent(t *testing.T) {
	n := startNode(t, clusterVars(t))
	admin := adminToken(t, n)
	vid, tok := createVisitor(t, n)
	for _, tt := range []struct {
		method, path, token string
		body                rawBody
		msg                 string
	}{
		{"POST", "/api/v1/tickets", tok, "{\"unit\":\"general\",\"text\":\"bad \xff utf8\"}", "UTF-8"},
		{"POST", "/api/v1/tickets", admin, rawBody("{\"unit\":\"general\",\"visitor_id\":\"" + vid + "\",\"text\":\"bad \xc3\x28\"}"), "UTF-8"},
		{"POST", "/api/v1/visitors", "", "{\"name\":\"V \xff\"}", "UTF-8"},
		{"POST", "/api/v1/auth/login", "", "{\"email\":\"admin@example.com\xff\",\"password\":\"x\"}", "UTF-8"},
		{"POST", "/api/v1/apikeys", admin, "{\"name\":\"k \xfe\"}", "UTF-8"},
		{"POST", "/api/v1/canned-replies", admin, "{\"unit\":\"general\",\"lang\":\"en\",\"title\":\"t\",\"text\":\"\xff\"}", "UTF-8"},
		{"POST", "/api/v1/visitors", "", `{"name":5}`, `field "name" must be a string`},
		{"POST", "/api/v1/visitors", "", `{"email":"nope"}`, `email is not an email address`},
		{"POST", "/api/v1/visitors", "", rawBody(`{"name":"` + strings.Repeat("n", 5000) + `"}`), `name is 5000 bytes, at most 100`},
		{"POST", "/api/v1/tickets", tok, `{"unit":"general","text":5}`, `field "text" must be a string`},
		{"POST", "/api/v1/agents", admin, `{"email":"z@example.com","password":"password-1","name":"Z","units":"general","max_chats":3}`, `field "units" must be an array`},
		{"POST", "/api/v1/agents", admin, `{"email":"z@example.com","password":"password-1","name":"Z","units":["general"],"max_chats":"3"}`, `field "max_chats" must be a whole number`},
	} {
		var e struct {
			Error struct{ Code, Message string }
		}
		if code := api(t, tt.method, n.url+tt.path, tt.token, tt.body, &e); code != 400 || e.Error.Code != "invalid_request" || !strings.Contains(e.Error.Message, tt.msg) {
			t.Errorf("%s %s %q: %d %+v, want invalid_request naming %q", tt.method, tt.path, tt.body, code, e, tt.msg)
		}
	}
	var list listJSON
	if code := api(t, "GET", n.url+"/api/v1/tickets", admin, nil, &list); code != 200 || len(list.Items) != 0 {
		t.Errorf("tickets stored from refused bodies: %d %+v", code, list.Items)
	}
}
