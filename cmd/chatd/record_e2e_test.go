package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// recordJSON is a transcript's JSON record as the tests read it.
type recordJSON struct {
	ChatID    string `json:"chat_id"`
	TicketID  string `json:"ticket_id"`
	Transfers []struct {
		Unit      string `json:"unit"`
		FromAgent string `json:"from_agent"`
		ToAgent   string `json:"to_agent"`
		Reason    string `json:"reason"`
	} `json:"transfers"`
	Agents  []struct{ ID, Name string } `json:"agents"`
	Timings struct {
		Queue         *float64 `json:"queue_seconds"`
		FirstResponse *float64 `json:"first_response_seconds"`
		Handling      *float64 `json:"handling_seconds"`
	} `json:"timings"`
	ClosedBy    *struct{ Kind, ID, Name string } `json:"closed_by"`
	CloseReason string                           `json:"close_reason"`
}

// transcriptOf fetches a chat's transcript in format (with lang) as token.
func transcriptOf(t *testing.T, n *node, token, chatID, query string) string {
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
	if resp.StatusCode != 200 {
		t.Fatalf("transcript %s%s: %d %s", chatID, query, resp.StatusCode, b)
	}
	return string(b)
}

func recordOf(t *testing.T, n *node, token, chatID string) recordJSON {
	t.Helper()
	var r recordJSON
	if err := json.Unmarshal([]byte(transcriptOf(t, n, token, chatID, "?format=json")), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// between checks that a timing is there and within [lo, hi] seconds.
func between(t *testing.T, what string, v *float64, lo, hi float64) {
	t.Helper()
	if v == nil || *v < lo || *v > hi {
		got := "null"
		if v != nil {
			got = strconv.FormatFloat(*v, 'f', 3, 64)
		}
		t.Errorf("%s = %s, want between %.2f and %.2f", what, got, lo, hi)
	}
}

// TestTranscriptRecord: the record names who ended each chat (a
// supervisor, an API key escalating it, the visitor), lists its transfers
// and gives timings that match what happened; an escalated chat's ticket
// carries its transcript.
func TestTranscriptRecord(t *testing.T) {
	n := startNode(t, clusterVars(t))
	admin := adminToken(t, n)
	ece := createStaff(t, n, "Ece", "agent", []string{"general"}, 1)
	ali := createStaff(t, n, "Ali", "agent", []string{"general"}, 3)
	sue := createStaff(t, n, "Sue", "supervisor", []string{"general"}, 3)
	eceC, _ := dialStaff(t, n, ece, true)

	// A chat Ece answers after a pause, hands to Ali, and Sue ends.
	v, _ := newVisitor(t, n)
	start := time.Now()
	chatID := startChat(t, v, "general", "kartım çalışmıyor")
	eceC.expect("chat.assigned", forChat(chatID))
	const pause = 400 * time.Millisecond
	time.Sleep(pause)
	eceC.call(map[string]any{"type": "message", "chat_id": chatID, "text": "Bakıyorum"})
	aliC, _ := dialStaff(t, n, ali, true)
	eceC.call(map[string]any{"type": "chat.transfer", "chat_id": chatID, "agent_id": ali.id})
	aliC.expect("chat.assigned", forChat(chatID))
	time.Sleep(200 * time.Millisecond)
	sueC, _ := dialStaff(t, n, sue, false)
	sueC.call(map[string]any{"type": "chat.close", "chat_id": chatID})
	total := time.Since(start).Seconds()

	r := recordOf(t, n, admin, chatID)
	if len(r.Transfers) != 1 || r.Transfers[0].FromAgent != "Ece" || r.Transfers[0].ToAgent != "Ali" || r.Transfers[0].Unit != "general" {
		t.Errorf("transfers %+v, want one from Ece to Ali", r.Transfers)
	}
	if len(r.Agents) != 2 {
		t.Errorf("agents %+v, want Ece and Ali", r.Agents)
	}
	between(t, "queue_seconds", r.Timings.Queue, 0, 1.5)
	between(t, "first_response_seconds", r.Timings.FirstResponse, pause.Seconds(), total+0.01)
	between(t, "handling_seconds", r.Timings.Handling, pause.Seconds()+0.2, total+0.01)
	if r.Timings.Handling != nil && r.Timings.FirstResponse != nil && *r.Timings.Queue+*r.Timings.Handling > total+0.01 {
		t.Errorf("queue %v + handling %v is more than the chat lasted (%v)", *r.Timings.Queue, *r.Timings.Handling, total)
	}
	if r.ClosedBy == nil || r.ClosedBy.Kind != "supervisor" || r.ClosedBy.ID != sue.id || r.ClosedBy.Name != "Sue" || r.CloseReason != "agent_closed" {
		t.Errorf("closed_by %+v (%s), want the supervisor Sue", r.ClosedBy, r.CloseReason)
	}
	if txt := transcriptOf(t, n, admin, chatID, "?format=txt"); !strings.Contains(txt, "Ended by: Sue (supervisor)") || !strings.Contains(txt, "Transfers:") {
		t.Errorf("txt lacks who ended it or the transfer:\n%s", txt)
	}
	if html := transcriptOf(t, n, admin, chatID, "?format=html&lang=tr"); !strings.Contains(html, "<dt>Sonlandıran</dt><dd>Sue (süpervizör)</dd>") || !strings.Contains(html, "Ece → general Ali") {
		t.Errorf("html lacks who ended it or the transfer:\n%s", html)
	}

	// A chat an integrator escalates with its API key: the record names the
	// key, and the ticket carries the transcript.
	keyID, key := createKey(t, n, admin)
	eceC.call(map[string]any{"type": "presence", "status": "away"}) // Ali takes the next chats
	v2, _ := newVisitor(t, n)
	chat2 := startChat(t, v2, "general", "para çekme talebim bekliyor")
	aliC.expect("chat.assigned", forChat(chat2))
	aliC.call(map[string]any{"type": "message", "chat_id": chat2, "text": "Finans birimine yazılı iletiyorum"})
	v2.call(map[string]any{"type": "message", "chat_id": chat2, "text": "teşekkürler"})
	var tk ticketJSON
	if code := api(t, "POST", n.url+"/api/v1/chats/"+chat2+"/escalate", key, map[string]any{"subject": "Çekim gecikmesi"}, &tk); code != 201 {
		t.Fatalf("escalate: %d %+v", code, tk)
	}
	r2 := recordOf(t, n, admin, chat2)
	if r2.ClosedBy == nil || r2.ClosedBy.Kind != "apikey" || r2.ClosedBy.ID != keyID || r2.ClosedBy.Name != "crm" || r2.TicketID != tk.ID {
		t.Errorf("escalated by key: closed_by %+v ticket %q, want the key and ticket %s", r2.ClosedBy, r2.TicketID, tk.ID)
	}
	var got ticketJSON
	api(t, "GET", n.url+"/api/v1/tickets/"+tk.ID, admin, nil, &got)
	lines := []string{"Chat " + chat2 + " (general)", "para çekme talebim bekliyor", "Ali: Finans birimine yazılı iletiyorum", "teşekkürler"}
	at := 0
	for _, l := range lines {
		i := strings.Index(got.Text[at:], l)
		if i < 0 {
			t.Fatalf("the ticket's transcript lacks %q after offset %d, in order:\n%s", l, at, got.Text)
		}
		at += i + len(l)
	}
	if got.ChatID != chat2 || got.Subject != "Çekim gecikmesi" {
		t.Errorf("ticket chat_id %q subject %q", got.ChatID, got.Subject)
	}

	// A chat its visitor ends.
	v3, tok3 := newVisitor(t, n)
	ack := v3.call(map[string]any{"type": "chat.start", "unit": "general", "text": "bir sorum var", "age_confirmed": true, "name": "Deniz"})
	chat3 := ack.str("chat_id")
	aliC.expect("chat.assigned", forChat(chat3))
	v3.call(map[string]any{"type": "chat.close", "chat_id": chat3})
	r3 := recordOf(t, n, tok3, chat3)
	if r3.ClosedBy == nil || r3.ClosedBy.Kind != "visitor" || r3.ClosedBy.Name != "Deniz" || r3.ClosedBy.ID == "" || r3.CloseReason != "visitor_closed" {
		t.Errorf("closed by the visitor: %+v (%s)", r3.ClosedBy, r3.CloseReason)
	}
	if r3.Timings.FirstResponse != nil {
		t.Errorf("first_response_seconds %v for a chat no agent answered", *r3.Timings.FirstResponse)
	}
}

// TestRefusedEscalationAudited: a REST escalation of a chat the caller may
// not see (a key of other units, an agent of another unit) is 404, changes
// nothing, and the try is on the audit record like every denied look.
func TestRefusedEscalationAudited(t *testing.T) {
	n := startNode(t, clusterVars(t))
	admin := adminToken(t, n)
	agent, _ := newAgent(t, n, "Ece", []string{"general"}, 2)
	tom := createStaff(t, n, "Tom", "agent", []string{"technical"}, 2)
	_, techKey := createKey(t, n, admin, "technical")
	v, _ := newVisitor(t, n)
	chatID := startChat(t, v, "general", "hesabım kilitli")
	agent.expect("chat.assigned", forChat(chatID))
	for _, who := range []string{techKey, tom.token} {
		var e struct{ Error struct{ Code string } }
		if code := api(t, "POST", n.url+"/api/v1/chats/"+chatID+"/escalate", who, map[string]any{}, &e); code != 404 || e.Error.Code != "not_found" {
			t.Fatalf("escalation by a stranger: %d %+v", code, e)
		}
	}
	if ch, err := n.DB.Chat(t.Context(), chatID); err != nil || ch.Status != "active" {
		t.Fatalf("after refused escalations the chat is %+v (%v)", ch, err)
	}
	rows := auditRows(t, n, chatID)
	for _, want := range []string{"chat.escalate.denied apikey", "chat.escalate.denied agent"} {
		if !hasRow(rows, want) {
			t.Errorf("audit lacks %q: %v", want, rows)
		}
	}
}
