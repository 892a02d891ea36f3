package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// Numbers of another country and how they come out masked: an IBAN keeps
// its country code and last four characters.
const (
	rawDEIBAN    = "DE89 3704 0044 0532 0130 00"
	maskedDEIBAN = "DE** **** **** **** **30 00"
	rawGBIBAN    = "GB82WEST12345698765432"
	maskedGBIBAN = "GB****************5432"
)

// secrets is what a customer or an agent types in the tests below, and
// maskedSecrets how it must come out everywhere.
var (
	secrets       = rawIBAN + " " + rawDEIBAN + " " + rawID + " " + rawGBIBAN
	maskedSecrets = "TR** **** **** **** **** **13 26 " + maskedDEIBAN + " *********46 " + maskedGBIBAN
)

// noRaw fails when s holds any of the raw numbers (in any spacing).
func noRaw(t *testing.T, where, s string) {
	t.Helper()
	flat := strings.ReplaceAll(s, " ", "")
	for _, raw := range []string{rawIBAN, rawDEIBAN, rawGBIBAN, rawID} {
		if strings.Contains(flat, strings.ReplaceAll(raw, " ", "")) {
			t.Errorf("%s holds %q unmasked: %s", where, raw, s)
		}
	}
}

// TestMaskingInTheWrittenChannel: IBANs (Turkish and others) and Turkish
// national ids are masked in a ticket's subject, text and replies (both
// sides and notes), in the offline form, in an escalation's subject (REST
// and socket), in what a real webhook receiver gets, and in the export.
func TestMaskingInTheWrittenChannel(t *testing.T) {
	vars := clusterVars(t, "CHAT_WEBHOOK_ALLOW_PRIVATE", "1")
	n := startNode(t, vars)
	admin := adminToken(t, n)
	rcv := newReceiver(t)
	_, secret := createHook(t, n, admin, rcv.srv.URL, "ticket.created", "ticket.replied", "chat.escalated", "ticket.merged")
	rcv.setSecret(secret)
	_, key := createKey(t, n, admin)
	sue := createStaff(t, n, "Sue", "supervisor", []string{"general", "financial", "technical"}, 3)
	agent, _ := dialStaff(t, n, sue, true)
	_, tok := createVisitor(t, n)

	type ticket struct {
		ID, Subject, Text string
		Replies           []struct{ Text string }
	}
	// The offline form (visitor token).
	var form ticket
	if code := api(t, "POST", n.url+"/api/v1/tickets", tok, map[string]any{"unit": "financial", "subject": "form " + secrets, "text": "form-text " + secrets}, &form); code != 201 {
		t.Fatalf("offline form: %d", code)
	}
	if form.Subject != "form "+maskedSecrets || form.Text != "form-text "+maskedSecrets {
		t.Errorf("offline form answered %q / %q", form.Subject, form.Text)
	}
	// An integrator's ticket for an email, with no subject (its first line).
	var crm ticket
	if code := api(t, "POST", n.url+"/api/v1/tickets", key, map[string]any{"unit": "general", "text": "crm " + secrets + "\nsecond line", "email": "c@example.com"}, &crm); code != 201 {
		t.Fatalf("integrator's ticket: %d", code)
	}
	if !strings.HasPrefix(maskedSecrets, strings.TrimSuffix(strings.TrimPrefix(crm.Subject, "crm "), "…")) {
		t.Errorf("subject from the first line: %q", crm.Subject)
	}
	noRaw(t, "the subject from the first line", crm.Subject)
	// Replies: staff, the visitor, an internal note.
	for _, r := range []struct{ token, text string }{{sue.token, "staff-reply " + secrets}, {tok, "visitor-reply " + secrets}, {key, "crm-reply " + secrets}} {
		var out struct{ Reply struct{ Text string } }
		if code := api(t, "POST", n.url+"/api/v1/tickets/"+form.ID+"/replies", r.token, map[string]any{"text": r.text}, &out); code != 201 {
			t.Fatalf("reply: %d", code)
		}
		if want := strings.SplitN(r.text, " ", 2)[0] + " " + maskedSecrets; out.Reply.Text != want {
			t.Errorf("reply answered %q, want %q", out.Reply.Text, want)
		}
	}
	api(t, "POST", n.url+"/api/v1/tickets/"+form.ID+"/replies", sue.token, map[string]any{"text": "note " + secrets, "internal": true}, nil)
	var read ticket
	api(t, "GET", n.url+"/api/v1/tickets/"+form.ID, sue.token, nil, &read)
	if raw, _ := json.Marshal(read); len(read.Replies) != 4 {
		t.Errorf("ticket read back: %s", raw)
	} else {
		noRaw(t, "the ticket read back", string(raw))
	}
	// Escalations: over REST (an integrator) and over the socket (the agent).
	v, _ := dialVisitor(t, n, tok)
	c1 := startChat(t, v, "general", "chat-one "+secrets)
	agent.expect("chat.assigned", forChat(c1))
	var esc struct {
		ID, Subject string
	}
	if code := api(t, "POST", n.url+"/api/v1/chats/"+c1+"/escalate", key, map[string]any{"subject": "esc " + secrets}, &esc); code != 201 || esc.Subject != "esc "+maskedSecrets {
		t.Errorf("REST escalation: %d %q", code, esc.Subject)
	}
	c2 := startChat(t, v, "technical", "chat-two about something else entirely")
	agent.expect("chat.assigned", forChat(c2))
	ack := agent.call(map[string]any{"type": "chat.escalate", "chat_id": c2, "subject": "sock " + secrets})
	var sock ticket
	api(t, "GET", n.url+"/api/v1/tickets/"+ack.str("ticket_id"), sue.token, nil, &sock)
	if sock.Subject != "sock "+maskedSecrets {
		t.Errorf("socket escalation's subject %q", sock.Subject)
	}

	// What a real receiver got.
	rcv.waitFor(t, map[string]int{"ticket.created": 4, "ticket.replied": 3, "chat.escalated": 2})
	rcv.mu.Lock()
	got, _ := json.Marshal(rcv.events)
	rcv.mu.Unlock()
	noRaw(t, "the webhook bodies", string(got))
	for _, want := range []string{"form " + maskedSecrets, "form-text " + maskedSecrets, "staff-reply " + maskedSecrets, "esc " + maskedSecrets, "sock " + maskedSecrets} {
		if !strings.Contains(string(got), want) {
			t.Errorf("the webhook bodies lack %q", want)
		}
	}
	// The export.
	var x map[string]any
	if code := api(t, "GET", n.url+"/api/v1/visitor/export", tok, nil, &x); code != 200 {
		t.Fatalf("export: %d", code)
	}
	exp, _ := json.Marshal(x)
	noRaw(t, "the export", string(exp))
	for _, want := range []string{"form-text " + maskedSecrets, "visitor-reply " + maskedSecrets, "chat-one " + maskedSecrets, "sock " + maskedSecrets} {
		if !strings.Contains(string(exp), want) {
			t.Errorf("the export lacks %q", want)
		}
	}
	// What was stored.
	db := rawDB(t, n)
	for _, q := range []string{"SELECT subject FROM tickets", "SELECT text FROM ticket_messages", "SELECT body FROM webhook_deliveries", "SELECT text FROM messages", "SELECT body FROM idempotency_keys"} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for rows.Next() {
			var s string
			rows.Scan(&s)
			noRaw(t, q, s)
			k++
		}
		rows.Close()
		if k == 0 && !strings.Contains(q, "idempotency") {
			t.Errorf("%s: nothing stored", q)
		}
	}
}
