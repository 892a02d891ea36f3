package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
)

// indexOf returns the position of the first received frame matching ok
// (-1: none).
func (c *wsClient) indexOf(ok func(frame) bool) int {
	for i, f := range c.all() {
		if ok(f) {
			return i
		}
	}
	return -1
}

// after returns the frames of chatID received after position i.
func (c *wsClient) after(i int, chatID string) []frame {
	var out []frame
	for _, f := range c.all()[i+1:] {
		if f.str("chat_id") == chatID {
			out = append(out, f)
		}
	}
	return out
}

// TestEscalatedReachesTheSender: the agent who escalates over the socket
// gets the ack and then chat.escalated on that socket, once, as a
// chat.close's sender gets its ack and then chat.closed.
func TestEscalatedReachesTheSender(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t))
	agent, _ := newAgent(t, n, "Ece", []string{"financial"}, 2)
	for i := range 3 {
		visitor, _ := newVisitor(t, n)
		chatID := startChat(t, visitor, "financial", fmt.Sprintf("withdrawal %d is missing", i))
		agent.expect("chat.assigned", forChat(chatID))
		id := uuid.NewString()
		agent.send(map[string]any{"type": "chat.escalate", "client_id": id, "chat_id": chatID})
		ack := agent.reply(id, "ack")
		esc := agent.expect("chat.escalated", forChat(chatID))
		if esc.str("ticket_id") != ack.str("ticket_id") {
			t.Errorf("chat.escalated %v, ack %v", esc, ack)
		}
		ackAt := agent.indexOf(func(f frame) bool { return f.str("type") == "ack" && f.str("client_id") == id })
		escAt := agent.indexOf(func(f frame) bool { return f.str("type") == "chat.escalated" && f.str("chat_id") == chatID })
		if escAt < ackAt {
			t.Errorf("the sender got chat.escalated (frame %d) before its ack (frame %d)", escAt, ackAt)
		}
		visitor.expect("chat.escalated", forChat(chatID))
		time.Sleep(100 * time.Millisecond)
		if k := agent.count("chat.escalated", forChat(chatID)); k != 1 {
			t.Errorf("the sender got chat.escalated %d times", k)
		}
	}
}

// TestFirstMessageCarriesTheVisitorsName: a visitor who gave their name
// when the token was made and starts a chat without one is named on seq 1
// (live, in the agent's history and in the transcript) as on later
// messages; a start without name or email keeps the record's.
func TestFirstMessageCarriesTheVisitorsName(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t))
	agentAcc := createStaff(t, n, "Ece", "agent", []string{"technical"}, 2)
	agent, _ := dialStaff(t, n, agentAcc, true)
	var raw map[string]string
	if code := api(t, "POST", n.url+"/api/v1/visitors", "", map[string]string{"name": "Ali", "email": "ali@example.com"}, &raw); code != 201 {
		t.Fatalf("create visitor: %d %v", code, raw)
	}
	visitor, _ := dialVisitor(t, n, raw["token"])
	chatID := startChat(t, visitor, "technical", "the page does not load")
	visitor.call(map[string]any{"type": "message", "chat_id": chatID, "text": "still nothing"})
	visitor.waitSeqs(chatID, 2)
	nameOf := func(f frame) string { m, _ := f["from"].(map[string]any); s, _ := m["name"].(string); return s }
	for _, m := range visitor.matching("message", forChat(chatID)) {
		if nameOf(m) != "Ali" {
			t.Errorf("visitor's message seq %d from %v, want Ali", m.num("seq"), m["from"])
		}
	}
	as := agent.expect("chat.assigned", forChat(chatID))
	if h, _ := as["history"].([]any); len(h) == 0 || nameOf(h[0].(map[string]any)) != "Ali" {
		t.Errorf("agent's history %v, want seq 1 from Ali", as["history"])
	}
	var rec struct {
		Messages []frame `json:"messages"`
	}
	if err := json.Unmarshal([]byte(transcriptOf(t, n, agentAcc.token, chatID, "?format=json")), &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Messages) != 2 {
		t.Fatalf("transcript messages %v", rec.Messages)
	}
	for _, m := range rec.Messages {
		if nameOf(m) != "Ali" {
			t.Errorf("transcript message seq %d from %v, want Ali", m.num("seq"), m["from"])
		}
	}
	v, err := n.DB.Visitor(context.Background(), raw["visitor_id"])
	if err != nil || v.Name != "Ali" || v.Email != "ali@example.com" {
		t.Errorf("the visitor record after a start without name or email: %+v %v", v, err)
	}
}

// TestAssignedCarriesTheVisitorsCreation: the agent's chat.assigned gives
// the visitor's real creation time, on an assignment at the start and
// after a transfer.
func TestAssignedCarriesTheVisitorsCreation(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t))
	ece := createStaff(t, n, "Ece", "agent", []string{"technical"}, 2)
	fin := createStaff(t, n, "Fin", "agent", []string{"financial"}, 2)
	agentEce, _ := dialStaff(t, n, ece, true)
	agentFin, _ := dialStaff(t, n, fin, true)
	visitorID, token := createVisitor(t, n)
	visitor, _ := dialVisitor(t, n, token)
	v, err := n.DB.Visitor(context.Background(), visitorID)
	if err != nil || v.CreatedAt.IsZero() {
		t.Fatalf("visitor %+v %v", v, err)
	}
	chatID := startChat(t, visitor, "technical", "the page does not load")
	check := func(who string, f frame) {
		t.Helper()
		vf, _ := f["visitor"].(map[string]any)
		s, _ := vf["created_at"].(string)
		at, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !at.Equal(v.CreatedAt) {
			t.Errorf("%s: chat.assigned visitor.created_at %q, want %s", who, s, v.CreatedAt.Format(time.RFC3339Nano))
		}
	}
	check("Ece", agentEce.expect("chat.assigned", forChat(chatID)))
	agentEce.call(map[string]any{"type": "chat.transfer", "chat_id": chatID, "unit": "financial"})
	check("Fin", agentFin.expect("chat.assigned", forChat(chatID)))
}

// TestOldAgentStopsFollowing: once a chat moved away from an agent (a
// transfer to another unit, or no answer in time), nothing of it reaches
// that agent after their chat.transferred: not the new agent's
// chat.assigned, not the chat's messages.
func TestOldAgentStopsFollowing(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t, "CHAT_FIRST_RESPONSE_TIMEOUT", "1s"))
	ece := createStaff(t, n, "Ece", "agent", []string{"technical"}, 3)
	fin := createStaff(t, n, "Fin", "agent", []string{"financial"}, 3)
	agentEce, _ := dialStaff(t, n, ece, true)
	agentFin, _ := dialStaff(t, n, fin, true)

	quiet := func(who string, c *wsClient, chatID string) {
		t.Helper()
		i := c.indexOf(func(f frame) bool { return f.str("type") == "chat.transferred" && f.str("chat_id") == chatID })
		if i < 0 {
			t.Fatalf("%s got no chat.transferred for %s", who, chatID)
		}
		for _, f := range c.after(i, chatID) {
			t.Errorf("%s got %v after the chat moved away", who, f)
		}
	}

	// A staff transfer to another unit, taken there at once.
	for i := range 3 {
		visitor, _ := newVisitor(t, n)
		chatID := startChat(t, visitor, "technical", fmt.Sprintf("error %d on checkout", i))
		agentEce.expect("chat.assigned", forChat(chatID))
		agentEce.call(map[string]any{"type": "message", "chat_id": chatID, "text": "passing you on"})
		agentEce.call(map[string]any{"type": "chat.transfer", "chat_id": chatID, "unit": "financial"})
		agentEce.expect("chat.transferred", forChat(chatID))
		agentFin.expect("chat.assigned", forChat(chatID))
		visitor.expect("chat.assigned", func(f frame) bool { return agentOf(f) == fin.id })
		agentFin.call(map[string]any{"type": "message", "chat_id": chatID, "text": "Fin here"})
		visitor.waitSeqs(chatID, 3)
		time.Sleep(150 * time.Millisecond)
		quiet("Ece after the transfer", agentEce, chatID)
	}

	// No answer in time: the chat goes on to another agent of the unit.
	can := createStaff(t, n, "Can", "agent", []string{"account"}, 3)
	ali := createStaff(t, n, "Ali", "agent", []string{"account"}, 3)
	agentCan, _ := dialStaff(t, n, can, true)
	visitor, _ := newVisitor(t, n)
	chatID := startChat(t, visitor, "account", "şifremi unuttum")
	agentCan.expect("chat.assigned", forChat(chatID))
	agentAli, _ := dialStaff(t, n, ali, true)
	agentCan.expect("chat.transferred", forChat(chatID))
	agentAli.expect("chat.assigned", forChat(chatID))
	agentAli.call(map[string]any{"type": "message", "chat_id": chatID, "text": "Merhaba"})
	visitor.waitSeqs(chatID, 2)
	time.Sleep(150 * time.Millisecond)
	quiet("Can after no_response", agentCan, chatID)
}

// TestQueuedPlaceToldOnce: a waiting visitor is told each place in the
// queue once: queue changes that leave it where it was tell it nothing.
func TestQueuedPlaceToldOnce(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	a, b := startNode(t, vars), startNode(t, vars)
	var visitors []*wsClient
	var chats []string
	for i := range 6 {
		n := a
		if i%2 == 1 {
			n = b
		}
		v, _ := newVisitor(t, n)
		visitors = append(visitors, v)
		chats = append(chats, startChat(t, v, "account", fmt.Sprintf("hesabım kilitlendi %d", i)))
	}
	for i, v := range visitors {
		v.expect("chat.queued", forChat(chats[i]))
	}
	// Queue changes that move nobody: staff of the unit come and go.
	for i := range 3 {
		sup := createStaff(t, a, fmt.Sprintf("Sue%d", i), "supervisor", []string{"account"}, 1)
		c, _ := dialStaff(t, b, sup, false)
		c.call(map[string]any{"type": "presence", "status": "away"})
	}
	// The first leaves: everyone behind moves up by one.
	visitors[0].call(map[string]any{"type": "chat.close", "chat_id": chats[0]})
	for i := 1; i < len(visitors); i++ {
		if !waitUntil(5*time.Second, func() bool {
			q := visitors[i].lastQueued(chats[i])
			return q != nil && q.num("position") == int64(i)
		}) {
			t.Fatalf("visitor %d: last chat.queued %v, want position %d", i, visitors[i].lastQueued(chats[i]), i)
		}
	}
	time.Sleep(300 * time.Millisecond)
	for i, v := range visitors {
		var last int64 = -1
		for _, q := range v.matching("chat.queued", forChat(chats[i])) {
			if q.num("position") == last {
				t.Errorf("visitor %d told position %d twice in a row: %v", i, last, v.matching("chat.queued", nil))
			}
			last = q.num("position")
		}
	}
}

// TestClientIDPerKindOfFrame: a client_id is remembered per kind of frame,
// as PROTOCOL.md says: a chat.close with the id of the chat's chat.start is
// taken for a resend (acked, the chat stays open), while a chat.close with
// the id of a message is a new frame and closes the chat.
func TestClientIDPerKindOfFrame(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t))
	visitor, _ := newVisitor(t, n)
	startID := uuid.NewString()
	visitor.send(map[string]any{"type": "chat.start", "client_id": startID, "unit": "general", "text": "merhaba", "age_confirmed": true})
	chatID := visitor.reply(startID, "ack").str("chat_id")
	msgID := uuid.NewString()
	visitor.send(map[string]any{"type": "message", "client_id": msgID, "chat_id": chatID, "text": "anyone?"})
	if ack := visitor.reply(msgID, "ack"); ack.num("seq") != 2 {
		t.Fatalf("message ack %v", ack)
	}
	visitor.send(map[string]any{"type": "chat.close", "client_id": startID, "chat_id": chatID})
	if f := visitor.nthReply(startID, 2); f.str("type") != "ack" {
		t.Fatalf("chat.close with the chat.start's client_id: %v", f)
	}
	if ch, err := n.DB.Chat(context.Background(), chatID); err != nil || !ch.Open() {
		t.Fatalf("a chat.close with the chat.start's client_id: chat %+v %v, want it still open", ch, err)
	}
	visitor.send(map[string]any{"type": "chat.close", "client_id": msgID, "chat_id": chatID})
	if f := visitor.nthReply(msgID, 2); f.str("type") != "ack" {
		t.Fatalf("chat.close with the message's client_id: %v", f)
	}
	visitor.expect("chat.closed", forChat(chatID))
	if ch, err := n.DB.Chat(context.Background(), chatID); err != nil || ch.Open() {
		t.Errorf("a chat.close with a message's client_id: chat %+v %v, want it closed", ch, err)
	}
}
