package main

import (
	"context"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// The limits run on real time here, made short; the assigner's tests
// drive the same decisions with a clock of their own.

// TestVisitorPresenceAcrossNodes: the agent sees whether the visitor is
// connected, any tab on any node counting: on the chat (chat.assigned,
// hello) and as visitor.offline / visitor.online when the last tab closes
// and one opens again.
func TestVisitorPresenceAcrossNodes(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	a, b := startNode(t, vars), startNode(t, vars)
	ece := createStaff(t, a, "Ece", "agent", []string{"general"}, 2)
	agent, _ := dialStaff(t, a, ece, true)
	_, token := createVisitor(t, a)
	tab1, _ := dialVisitor(t, a, token)
	chatID := startChat(t, tab1, "general", "hello")
	assigned := agent.expect("chat.assigned", forChat(chatID))
	if ch, _ := assigned["chat"].(map[string]any); ch["visitor_online"] != true {
		t.Fatalf("chat.assigned's chat: visitor_online %v, want true", ch["visitor_online"])
	}
	tab2, _ := dialVisitor(t, b, token)
	tab1.drop()
	time.Sleep(300 * time.Millisecond)
	if n := agent.count("visitor.offline", forChat(chatID)); n != 0 {
		t.Fatalf("visitor.offline while a tab on the other node is open")
	}
	before := time.Now().Add(-time.Second)
	tab2.drop()
	off := agent.expect("visitor.offline", forChat(chatID))
	left, err := time.Parse(time.RFC3339Nano, off.str("left_at"))
	if err != nil || left.Before(before) || off.str("visitor_id") == "" {
		t.Fatalf("visitor.offline %v", off)
	}
	// A console connecting now sees it on the chat.
	again, hello := dialStaff(t, b, ece, false)
	chats, _ := hello["chats"].([]any)
	if len(chats) != 1 {
		t.Fatalf("hello chats %v", hello["chats"])
	}
	ch := chats[0].(map[string]any)
	if ch["visitor_online"] != false || ch["visitor_left_at"] == nil {
		t.Errorf("hello's chat: visitor_online %v, visitor_left_at %v", ch["visitor_online"], ch["visitor_left_at"])
	}
	dialVisitor(t, b, token)
	for _, c := range []*wsClient{agent, again} {
		if on := c.expect("visitor.online", forChat(chatID)); on.str("visitor_id") != off.str("visitor_id") {
			t.Errorf("visitor.online %v", on)
		}
	}
}

// TestQueuedVisitorWhoLeaves: a waiting chat whose visitor has had no
// socket for CHAT_VISITOR_TIMEOUT leaves the queue, closed with
// visitor_left; the chats behind move up and are told. A visitor back in
// time keeps their place.
func TestQueuedVisitorWhoLeaves(t *testing.T) {
	t.Parallel()
	const timeout = 2 * time.Second
	n := startNode(t, clusterVars(t, "CHAT_VISITOR_TIMEOUT", "2s"))
	type waiter struct {
		c      *wsClient
		token  string
		chatID string
	}
	var ws []waiter
	for i := 0; i < 3; i++ {
		_, tok := createVisitor(t, n)
		c, _ := dialVisitor(t, n, tok)
		id := startChat(t, c, "technical", "the page does not load")
		if q := c.expect("chat.queued", forChat(id)); q.num("position") != int64(i+1) {
			t.Fatalf("visitor %d queued at %d", i, q.num("position"))
		}
		ws = append(ws, waiter{c, tok, id})
	}
	// The first leaves for good; the second blinks (a reload).
	left := time.Now()
	ws[0].c.drop()
	ws[1].c.drop()
	back, _ := dialVisitor(t, n, ws[1].token)
	if !waitUntil(15*time.Second, func() bool {
		ch, err := n.DB.Chat(context.Background(), ws[0].chatID)
		return err == nil && ch.Status == chat.StatusClosed
	}) {
		t.Fatal("the chat of the visitor who left is still open")
	}
	if waited := time.Since(left); waited < timeout {
		t.Errorf("closed after %v, before the %v timeout", waited, timeout)
	}
	ch, _ := n.DB.Chat(context.Background(), ws[0].chatID)
	if ch.CloseReason != "visitor_left" || ch.ClosedBy == nil || ch.ClosedBy.Kind != "system" {
		t.Errorf("close reason %q, closed by %+v; want visitor_left by the system", ch.CloseReason, ch.ClosedBy)
	}
	// The others move up: the blinker to 1 (told on its new socket), the
	// third to 2.
	if !waitUntil(10*time.Second, func() bool {
		q1, q2 := back.lastQueued(ws[1].chatID), ws[2].c.lastQueued(ws[2].chatID)
		return q1 != nil && q1.num("position") == 1 && q2 != nil && q2.num("position") == 2
	}) {
		t.Fatalf("positions did not move up: %v / %v", back.lastQueued(ws[1].chatID), ws[2].c.lastQueued(ws[2].chatID))
	}
	time.Sleep(timeout + time.Second)
	for _, w := range ws[1:] {
		if ch, err := n.DB.Chat(context.Background(), w.chatID); err != nil || ch.Status != chat.StatusQueued {
			t.Errorf("chat %s of a present visitor: %+v %v", w.chatID, ch, err)
		}
	}
	// The freed place goes to the next chat: an agent now takes the
	// blinker's chat first.
	agent, _ := newAgent(t, n, "Ece", []string{"technical"}, 1)
	agent.expect("chat.assigned", forChat(ws[1].chatID))
	if metricValue(t, n, `chatd_visitor_left_total{state="queued"}`) != 1 {
		t.Errorf("chatd_visitor_left_total{state=queued} = %v", metricValue(t, n, `chatd_visitor_left_total{state="queued"}`))
	}
}

// TestIdleChatCloses: an active chat whose visitor has been gone for
// CHAT_IDLE_CLOSE closes with visitor_left once no message of theirs is
// unanswered, and the agent's slot takes the next chat at once.
func TestIdleChatCloses(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t, "CHAT_IDLE_CLOSE", "1s"))
	agent, _ := newAgent(t, n, "Ece", []string{"general"}, 1)
	visitor, _ := newVisitor(t, n)
	chatID := startChat(t, visitor, "general", "one question")
	agent.expect("chat.assigned", forChat(chatID))
	waitingV, _ := newVisitor(t, n)
	next := startChat(t, waitingV, "general", "me next")
	waitingV.expect("chat.queued", forChat(next))

	visitor.drop() // with its question unanswered
	time.Sleep(3 * time.Second)
	if ch, _ := n.DB.Chat(context.Background(), chatID); ch.Status != chat.StatusActive {
		t.Fatalf("a chat owed an answer closed: %+v", ch)
	}
	agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": "here is the answer"})
	closed := agent.expect("chat.closed", forChat(chatID))
	if closed.str("reason") != "visitor_left" {
		t.Errorf("chat.closed %v", closed)
	}
	agent.expect("chat.assigned", forChat(next))
	if ch, _ := n.DB.Chat(context.Background(), chatID); ch.CloseReason != "visitor_left" {
		t.Errorf("stored close reason %q", ch.CloseReason)
	}
}

// TestUnansweredChatMovesOn: an agent who sends nothing within
// CHAT_FIRST_RESPONSE_TIMEOUT loses the chat to the next agent; both agents
// and the visitor are told (no_response), it is counted, and the records
// explain every step. The next agent answers and keeps it.
func TestUnansweredChatMovesOn(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t, "CHAT_FIRST_RESPONSE_TIMEOUT", "1s"))
	ece := createStaff(t, n, "Ece", "agent", []string{"account"}, 1)
	can := createStaff(t, n, "Can", "agent", []string{"account"}, 1)
	first, _ := dialStaff(t, n, ece, true)
	visitor, _ := newVisitor(t, n)
	chatID := startChat(t, visitor, "account", "şifremi unuttum")
	first.expect("chat.assigned", forChat(chatID))
	assignedAt := time.Now()
	second, _ := dialStaff(t, n, can, true)

	moved := visitor.expect("chat.transferred", forChat(chatID))
	if time.Since(assignedAt) < time.Second-50*time.Millisecond {
		t.Errorf("moved %v after the assignment, before the timeout", time.Since(assignedAt))
	}
	from, _ := moved["from_agent"].(map[string]any)
	if moved.str("reason") != "no_response" || from["id"] != ece.id || agentOf(moved) != can.id {
		t.Fatalf("visitor's chat.transferred %v", moved)
	}
	if f := first.expect("chat.transferred", forChat(chatID)); f.str("reason") != "no_response" {
		t.Errorf("first agent's chat.transferred %v", f)
	}
	if f := second.expect("chat.transferred", forChat(chatID)); f.str("reason") != "no_response" {
		t.Errorf("second agent's chat.transferred %v", f)
	}
	second.expect("chat.assigned", forChat(chatID))
	if f := visitor.expect("chat.assigned", forChat(chatID)); agentOf(f) != can.id {
		t.Errorf("visitor's chat.assigned %v", f)
	}
	second.call(map[string]any{"type": "message", "chat_id": chatID, "text": "Merhaba, yardımcı olayım"})
	time.Sleep(2500 * time.Millisecond)
	if ch, _ := n.DB.Chat(context.Background(), chatID); ch.AgentID != can.id {
		t.Errorf("an answered chat moved again: %+v", ch)
	}
	if v := metricValue(t, n, "chatd_no_response_total"); v != 1 {
		t.Errorf("chatd_no_response_total = %v", v)
	}

	// The records: assigned to Ece by load, taken for no response, given
	// to Can with Ece excluded.
	sue := createStaff(t, n, "Sue", "supervisor", []string{"account"}, 1)
	var body struct {
		Items []chat.AssignmentRecord `json:"items"`
	}
	if code := api(t, "GET", n.url+"/api/v1/chats/"+chatID+"/assignments", sue.token, nil, &body); code != 200 {
		t.Fatalf("assignments: %d", code)
	}
	recs := body.Items
	if len(recs) != 3 {
		t.Fatalf("records %+v", recs)
	}
	if r := recs[0]; r.Kind != chat.RecordAssigned || r.AgentID != ece.id || r.Rule != "lowest_load" || len(r.Candidates) != 1 || !r.Candidates[0].Chosen || r.Candidates[0].Max != 1 {
		t.Errorf("first record %+v", r)
	}
	if r := recs[1]; r.Kind != chat.RecordRequeued || r.FromAgentID != ece.id || r.Rule != "no_response" {
		t.Errorf("second record %+v", r)
	}
	if r := recs[2]; r.Kind != chat.RecordAssigned || r.AgentID != can.id || r.FromAgentID != ece.id || r.Rule != "lowest_load" {
		t.Errorf("third record %+v", r)
	}
	for _, c := range recs[2].Candidates {
		if c.AgentID == ece.id && !c.Excluded {
			t.Errorf("Ece weighed for the chat she left unanswered without being excluded: %+v", recs[2].Candidates)
		}
	}
}

// TestAssignmentRecordsAccess: supervisors of the chat's unit and admins
// read a chat's records, each read on the audit log; a supervisor of
// another unit gets 404 and the try is logged; agents and visitors may
// not. A staff transfer is recorded with who asked.
func TestAssignmentRecordsAccess(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t))
	ece := createStaff(t, n, "Ece", "agent", []string{"financial"}, 2)
	agent, _ := dialStaff(t, n, ece, true)
	visitor, vtoken := newVisitor(t, n)
	chatID := startChat(t, visitor, "financial", "iade istiyorum")
	agent.expect("chat.assigned", forChat(chatID))
	agent.call(map[string]any{"type": "chat.transfer", "chat_id": chatID, "unit": "general"})

	sue := createStaff(t, n, "Sue", "supervisor", []string{"general"}, 1)
	sam := createStaff(t, n, "Sam", "supervisor", []string{"technical"}, 1)
	admin := login(t, n, "admin@example.com", "admin-password")
	url := n.url + "/api/v1/chats/" + chatID + "/assignments"
	var body struct {
		ChatID string                  `json:"chat_id"`
		Items  []chat.AssignmentRecord `json:"items"`
	}
	if code := api(t, "GET", url, sue.token, nil, &body); code != 200 || body.ChatID != chatID || len(body.Items) != 2 {
		t.Fatalf("supervisor of the unit: %d %+v", code, body)
	}
	if r := body.Items[1]; r.Kind != chat.RecordTransferred || r.Unit != "general" || r.FromAgentID != ece.id || r.ByID != ece.id || r.ByKind != "agent" || r.Rule != "transfer" {
		t.Errorf("transfer record %+v", r)
	}
	if code := api(t, "GET", url, admin, nil, nil); code != 200 {
		t.Errorf("admin: %d", code)
	}
	var e struct{ Error struct{ Code string } }
	if code := api(t, "GET", url, sam.token, nil, &e); code != 404 || e.Error.Code != "not_found" {
		t.Errorf("supervisor of another unit: %d %+v", code, e)
	}
	if code := api(t, "GET", url, ece.token, nil, nil); code != 403 {
		t.Errorf("agent: %d", code)
	}
	if code := api(t, "GET", url, vtoken, nil, nil); code != 403 {
		t.Errorf("visitor: %d", code)
	}
	if code := api(t, "GET", url, "", nil, nil); code != 401 {
		t.Errorf("nobody: %d", code)
	}
	var audit struct {
		Items []chat.AuditEntry `json:"items"`
	}
	if code := api(t, "GET", n.url+"/api/v1/audit?limit=100", admin, nil, &audit); code != 200 {
		t.Fatalf("audit: %d", code)
	}
	seen := map[string]int{}
	for _, a := range audit.Items {
		if a.ObjectID == chatID {
			seen[a.Action+" by "+a.ActorID]++
		}
	}
	// The agent's refusal (403) is on the log as the supervisor's (404) is;
	// the visitor's is not a staff look.
	for _, want := range []string{"chat.assignments.read by " + sue.id, "chat.assignments.denied by " + sam.id, "chat.assignments.denied by " + ece.id} {
		if seen[want] != 1 {
			t.Errorf("audit lacks %q: %v", want, seen)
		}
	}
	if seen["chat.assignments.read by "+sam.id] != 0 || seen["chat.assignments.denied by "+visitorIDOf(t, n, vtoken)] != 0 {
		t.Errorf("the refused read is logged as a read: %v", seen)
	}
}
