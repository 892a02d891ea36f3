package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// TestClusterConversation runs a whole conversation between a visitor on one
// node and an agent on another: both see every message in seq order, once,
// including when both write at the same time.
func TestClusterConversation(t *testing.T) {
	t.Parallel()
	// Several group-commit writers per node: chats are spread over them.
	vars := clusterVars(t, "CHAT_DB_WRITERS", "3")
	a, b := startNode(t, vars), startNode(t, vars)

	agent, agentID := newAgent(t, b, "Ece", []string{"technical"}, 3)
	visitor, _ := newVisitor(t, a)
	chatID := startChat(t, visitor, "technical", "the app crashes on start")
	va := visitor.expect("chat.assigned", forChat(chatID))
	if agentOf(va) != agentID {
		t.Fatalf("visitor told of agent %v, want %s", va, agentID)
	}
	as := agent.expect("chat.assigned", forChat(chatID))
	if h, _ := as["history"].([]any); len(h) != 1 || as["visitor"] == nil {
		t.Fatalf("agent's chat.assigned lacks the visitor or the history: %v", as)
	}

	// Turns, each waited for on the other side.
	seq := int64(1)
	for i := 0; i < 3; i++ {
		seq++
		ack := agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": fmt.Sprintf("agent %d", i)})
		if ack.num("seq") != seq || ack.str("chat_id") != chatID {
			t.Fatalf("agent ack %v, want seq %d", ack, seq)
		}
		m := visitor.expect("message", bySeq(chatID, seq))
		if m.str("text") != fmt.Sprintf("agent %d", i) || m["from"].(map[string]any)["kind"] != "agent" || m["from"].(map[string]any)["id"] != agentID {
			t.Fatalf("visitor got %v", m)
		}
		if _, err := time.Parse(time.RFC3339, m.str("at")); err != nil {
			t.Errorf("message at %q is not RFC 3339", m.str("at"))
		}
		seq++
		ack = visitor.call(map[string]any{"type": "message", "chat_id": chatID, "text": fmt.Sprintf("visitor %d", i)})
		if ack.num("seq") != seq {
			t.Fatalf("visitor ack %v, want seq %d", ack, seq)
		}
		m = agent.expect("message", bySeq(chatID, seq))
		if m.str("text") != fmt.Sprintf("visitor %d", i) || m["from"].(map[string]any)["kind"] != "visitor" {
			t.Fatalf("agent got %v", m)
		}
	}

	// Both sides write at once, from two nodes.
	const burst = 25
	texts := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, side := range []struct {
		name string
		c    *wsClient
	}{{"visitor", visitor}, {"agent", agent}} {
		ids := make([]string, burst)
		for i := range ids {
			ids[i] = uuid.NewString()
			mu.Lock()
			texts[fmt.Sprintf("%s burst %d", side.name, i)] = true
			mu.Unlock()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, id := range ids {
				if err := side.c.trySend(map[string]any{"type": "message", "client_id": id, "chat_id": chatID, "text": fmt.Sprintf("%s burst %d", side.name, i)}); err != nil {
					t.Errorf("%s send: %v", side.name, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	last := seq + 2*burst
	visitor.waitSeqs(chatID, last)
	agent.waitSeqs(chatID, last)
	checkSeqs(t, "visitor", visitor, chatID, 1, last)
	checkSeqs(t, "agent (history then live)", agentWithHistory(agent, chatID), chatID, 1, last)
	seen := map[string]bool{}
	for _, f := range visitor.matching("message", forChat(chatID)) {
		if f.num("seq") > seq {
			seen[f.str("text")] = true
		}
	}
	for txt := range texts {
		if !seen[txt] {
			t.Errorf("visitor never received %q", txt)
		}
	}
	// Each side's own burst arrives in the order it was sent.
	for _, side := range []struct {
		name string
		c    *wsClient
	}{{"visitor", visitor}, {"agent", agent}} {
		next := 0
		for _, f := range side.c.matching("message", forChat(chatID)) {
			var i int
			var who string
			if n, _ := fmt.Sscanf(f.str("text"), "%s burst %d", &who, &i); n == 2 && who == side.name {
				if i != next {
					t.Errorf("%s's burst message %d arrived where %d was expected", side.name, i, next)
				}
				next = i + 1
			}
		}
	}

	agent.call(map[string]any{"type": "chat.close", "chat_id": chatID})
	vc := visitor.expect("chat.closed", forChat(chatID))
	if vc.str("reason") != "agent_closed" {
		t.Errorf("visitor chat.closed %v", vc)
	}
	agent.expect("chat.closed", forChat(chatID))
	time.Sleep(200 * time.Millisecond)
	if n := visitor.count("chat.closed", nil); n != 1 {
		t.Errorf("visitor got %d chat.closed frames, want 1", n)
	}
	if n := agent.count("chat.closed", nil); n != 1 {
		t.Errorf("agent got %d chat.closed frames, want 1", n)
	}
	if code := visitor.callErr(map[string]any{"type": "message", "chat_id": chatID, "text": "still there?"}); code != "chat_closed" {
		t.Errorf("message after close: %s, want chat_closed", code)
	}
}

// agentWithHistory returns a view of an agent client whose message list
// starts with the history of its chat.assigned frame, so the agent's whole
// picture of the chat can be checked for order and duplicates.
func agentWithHistory(c *wsClient, chatID string) *wsClient {
	v := &wsClient{t: c.t}
	for _, f := range c.all() {
		if f.str("type") == "chat.assigned" && f.str("chat_id") == chatID {
			h, _ := f["history"].([]any)
			for _, m := range h {
				mf := frame(m.(map[string]any))
				mf["type"] = "message"
				v.got = append(v.got, mf)
			}
			continue
		}
		v.got = append(v.got, f)
	}
	return v
}

// TestVisitorTwoTabs: two sockets with one token (on two nodes) get every
// frame of the chat, whichever tab started it.
func TestVisitorTwoTabs(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	a, b := startNode(t, vars), startNode(t, vars)
	_, token := createVisitor(t, a)
	tab1, h1 := dialVisitor(t, a, token)
	tab2, _ := dialVisitor(t, b, token)
	tab3, _ := dialVisitor(t, a, token) // same node as the starting tab
	if h1["chat"] != nil {
		t.Fatalf("fresh visitor's hello has a chat: %v", h1)
	}

	startID := uuid.NewString()
	tab1.send(map[string]any{"type": "chat.start", "client_id": startID, "unit": "account", "text": "şifremi unuttum", "age_confirmed": true})
	chatID := tab1.reply(startID, "ack").str("chat_id")
	for name, tab := range map[string]*wsClient{"tab1": tab1, "tab2": tab2, "tab3": tab3} {
		m := tab.expect("message", bySeq(chatID, 1))
		if m.str("text") != "şifremi unuttum" {
			t.Errorf("%s: first message %v", name, m)
		}
		q := tab.expect("chat.queued", forChat(chatID))
		if q.num("position") != 1 || q.str("unit") != "account" {
			t.Errorf("%s: chat.queued %v", name, q)
		}
	}

	agent, agentID := newAgent(t, b, "Mert", []string{"account"}, 2)
	agent.expect("chat.assigned", forChat(chatID))
	for name, tab := range map[string]*wsClient{"tab1": tab1, "tab2": tab2, "tab3": tab3} {
		if f := tab.expect("chat.assigned", forChat(chatID)); agentOf(f) != agentID {
			t.Errorf("%s: chat.assigned %v", name, f)
		}
	}
	agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": "Merhaba"})
	tab2.call(map[string]any{"type": "message", "chat_id": chatID, "text": "written in tab 2"})
	tab1.call(map[string]any{"type": "message", "chat_id": chatID, "text": "written in tab 1"})
	for name, tab := range map[string]*wsClient{"tab1": tab1, "tab2": tab2, "tab3": tab3} {
		tab.waitSeqs(chatID, 4)
		checkSeqs(t, name, tab, chatID, 1, 4)
	}
	// Acks go to the sending tab only.
	if tab2.count("ack", func(f frame) bool { return f.str("client_id") == startID }) != 0 {
		t.Error("tab2 received tab1's ack")
	}

	tab2.call(map[string]any{"type": "chat.close", "chat_id": chatID})
	for name, tab := range map[string]*wsClient{"tab1": tab1, "tab2": tab2, "tab3": tab3} {
		if f := tab.expect("chat.closed", forChat(chatID)); f.str("reason") != "visitor_closed" {
			t.Errorf("%s: chat.closed %v", name, f)
		}
	}
	agent.expect("chat.closed", forChat(chatID))

	// A second chat, started in the other tab, reaches the first as well.
	chat2 := startChat(t, tab2, "account", "hesabıma giriş yapamıyorum")
	if chat2 == chatID {
		t.Fatal("a closed chat was reused")
	}
	for _, tab := range []*wsClient{tab1, tab2, tab3} {
		tab.expect("message", bySeq(chat2, 1))
		tab.expect("chat.assigned", forChat(chat2))
	}
	agent.expect("chat.assigned", forChat(chat2))
	agent.call(map[string]any{"type": "message", "chat_id": chat2, "text": "yes?"})
	for name, tab := range map[string]*wsClient{"tab1": tab1, "tab2": tab2, "tab3": tab3} {
		tab.waitSeqs(chat2, 2)
		checkSeqs(t, name+" (second chat)", tab, chat2, 1, 2)
	}
}

// TestResume: a visitor and an agent drop, miss messages, reconnect to the
// other node and resume: they get exactly the missed messages, in order,
// once, then the live ones.
func TestResume(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	a, b := startNode(t, vars), startNode(t, vars)
	ag := createStaff(t, b, "Ece", "agent", []string{"financial"}, 2)
	agent, _ := dialStaff(t, b, ag, true)
	_, token := createVisitor(t, a)
	visitor, _ := dialVisitor(t, a, token)
	chatID := startChat(t, visitor, "financial", "para çekme talebim bekliyor")
	agent.expect("chat.assigned", forChat(chatID))
	visitor.expect("chat.assigned", forChat(chatID))
	agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": "m2"})
	visitor.waitSeqs(chatID, 2)

	// visitor.
	func() {
		visitor.drop()
		for i := 3; i <= 7; i++ {
			agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": fmt.Sprintf("m%d", i)})
		}
		back, hello := dialVisitor(t, b, token)
		hc, _ := hello["chat"].(map[string]any)
		if hc == nil || hc["id"] != chatID || hc["last_seq"] != float64(7) || hc["status"] != "active" {
			t.Fatalf("hello after reconnect: %v", hello)
		}
		back.expect("chat.assigned", forChat(chatID))
		back.send(map[string]any{"type": "resume", "chat_id": chatID, "after_seq": 2})
		back.waitSeqs(chatID, 7)
		for i, f := range back.matching("message", forChat(chatID)) {
			if want := fmt.Sprintf("m%d", i+3); f.str("text") != want {
				t.Errorf("replayed message %d is %q, want %q", i, f.str("text"), want)
			}
		}
		agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": "m8"})
		back.call(map[string]any{"type": "message", "chat_id": chatID, "text": "m9"})
		back.waitSeqs(chatID, 9)
		time.Sleep(200 * time.Millisecond)
		checkSeqs(t, "resumed visitor", back, chatID, 3, 9)
		visitor = back
	}()

	// visitor without resume gets live messages only.
	func() {
		visitor.drop()
		agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": "missed"}) // 10
		back, _ := dialVisitor(t, a, token)
		agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": "live"}) // 11
		back.waitSeqs(chatID, 11)
		time.Sleep(200 * time.Millisecond)
		checkSeqs(t, "visitor that sent no resume", back, chatID, 11, 11)
		visitor = back
	}()

	// visitor resumes while the agent keeps writing.
	func() {
		visitor.drop()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 30; i++ {
				if err := agent.trySend(map[string]any{"type": "message", "client_id": uuid.NewString(), "chat_id": chatID, "text": fmt.Sprintf("stream %d", i)}); err != nil {
					t.Errorf("agent send: %v", err)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		time.Sleep(40 * time.Millisecond)
		back, _ := dialVisitor(t, b, token)
		back.send(map[string]any{"type": "resume", "chat_id": chatID, "after_seq": 11})
		<-done
		back.waitSeqs(chatID, 41)
		time.Sleep(200 * time.Millisecond)
		checkSeqs(t, "visitor resuming during a stream", back, chatID, 12, 41)
		visitor = back
	}()

	// agent.
	func() {
		agent.call(map[string]any{"type": "note", "chat_id": chatID, "text": "note 1"})
		agent.expect("note", nil)
		agent.drop()
		for i := 0; i < 4; i++ {
			visitor.call(map[string]any{"type": "message", "chat_id": chatID, "text": fmt.Sprintf("while away %d", i)})
		}
		back, hello := dialStaff(t, a, ag, false)
		chats, _ := hello["chats"].([]any)
		if len(chats) != 1 || chats[0].(map[string]any)["id"] != chatID || chats[0].(map[string]any)["last_seq"] != float64(45) {
			t.Fatalf("agent hello after reconnect: %v", hello)
		}
		back.send(map[string]any{"type": "resume", "chat_id": chatID, "after_seq": 41})
		back.waitSeqs(chatID, 45)
		visitor.call(map[string]any{"type": "message", "chat_id": chatID, "text": "live again"})
		back.waitSeqs(chatID, 46)
		time.Sleep(200 * time.Millisecond)
		checkSeqs(t, "resumed agent", back, chatID, 42, 46)
		// The note was seen before the drop and resume named no after_note.
		if n := back.count("note", nil); n != 0 {
			t.Errorf("resume without after_note replayed %d note(s): %v", n, back.matching("note", nil))
		}
		back.send(map[string]any{"type": "resume", "chat_id": chatID, "after_seq": 46, "after_note": 0})
		if f := back.expect("note", nil); f.num("seq") != 1 || f.str("text") != "note 1" {
			t.Errorf("resume with after_note 0: %v", f)
		}
		back.call(map[string]any{"type": "message", "chat_id": chatID, "text": "agent is back"})
		visitor.waitSeqs(chatID, 47)
		if visitor.count("note", nil) != 0 {
			t.Error("visitor received a note")
		}
	}()
}

// TestIdempotentFrames: re-sending a frame with the same client_id gets the
// same ack and changes nothing, on the same socket, after a reconnect and on
// another node.
func TestIdempotentFrames(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	a, b := startNode(t, vars), startNode(t, vars)
	agent, _ := newAgent(t, b, "Ece", []string{"general"}, 2)
	_, token := createVisitor(t, a)
	visitor, _ := dialVisitor(t, a, token)

	start := map[string]any{"type": "chat.start", "client_id": uuid.NewString(), "unit": "general", "text": "hello", "age_confirmed": true}
	visitor.send(start)
	first := visitor.reply(start["client_id"].(string), "ack")
	chatID := first.str("chat_id")
	agent.expect("chat.assigned", forChat(chatID))
	visitor.expect("chat.assigned", forChat(chatID))

	// chat.start again: same socket, then another node.
	visitor.send(start)
	again := visitor.nthReply(start["client_id"].(string), 2)
	other, _ := dialVisitor(t, b, token)
	other.send(start)
	third := other.reply(start["client_id"].(string), "ack")
	for _, ack := range []frame{again, third} {
		if ack.str("chat_id") != chatID || ack.num("seq") != 1 || ack["existing"] != first["existing"] {
			t.Errorf("repeated chat.start acked %v, first ack was %v", ack, first)
		}
	}

	msg := map[string]any{"type": "message", "client_id": uuid.NewString(), "chat_id": chatID, "text": "only once"}
	visitor.send(msg)
	m1 := visitor.reply(msg["client_id"].(string), "ack")
	visitor.send(msg)
	m2 := visitor.nthReply(msg["client_id"].(string), 2)
	other.send(msg)
	m3 := other.reply(msg["client_id"].(string), "ack")
	for _, ack := range []frame{m2, m3} {
		if ack.num("seq") != m1.num("seq") || ack.str("chat_id") != chatID {
			t.Errorf("repeated message acked %v, first ack %v", ack, m1)
		}
	}
	// The next message takes the next seq: nothing was stored twice.
	if ack := visitor.call(map[string]any{"type": "message", "chat_id": chatID, "text": "next"}); ack.num("seq") != m1.num("seq")+1 {
		t.Errorf("message after duplicates got seq %d, want %d", ack.num("seq"), m1.num("seq")+1)
	}
	agent.waitSeqs(chatID, m1.num("seq")+1)

	// An agent's message and note, repeated.
	am := map[string]any{"type": "message", "client_id": uuid.NewString(), "chat_id": chatID, "text": "agent once"}
	agent.send(am)
	a1 := agent.reply(am["client_id"].(string), "ack")
	agent.send(am)
	a2 := agent.nthReply(am["client_id"].(string), 2)
	if a1.num("seq") != a2.num("seq") {
		t.Errorf("repeated agent message acked seq %d then %d", a1.num("seq"), a2.num("seq"))
	}
	note := map[string]any{"type": "note", "client_id": uuid.NewString(), "chat_id": chatID, "text": "internal"}
	agent.send(note)
	n1 := agent.reply(note["client_id"].(string), "ack")
	agent.send(note)
	n2 := agent.nthReply(note["client_id"].(string), 2)
	if n1.num("seq") != 1 || n2.num("seq") != 1 {
		t.Errorf("note acks %v %v, want seq 1 twice", n1, n2)
	}

	cl := map[string]any{"type": "chat.close", "client_id": uuid.NewString(), "chat_id": chatID}
	visitor.send(cl)
	c1 := visitor.reply(cl["client_id"].(string), "ack")
	visitor.send(cl)
	c2 := visitor.nthReply(cl["client_id"].(string), 2)
	other.send(cl)
	c3 := other.reply(cl["client_id"].(string), "ack")
	for _, ack := range []frame{c2, c3} {
		if ack.str("chat_id") != c1.str("chat_id") {
			t.Errorf("repeated chat.close acked %v, first %v", ack, c1)
		}
	}
	// A message resent after the chat closed still gets its ack.
	visitor.send(msg)
	if ack := visitor.nthReply(msg["client_id"].(string), 3); ack.str("type") != "ack" || ack.num("seq") != m1.num("seq") {
		t.Errorf("message re-sent after close: %v, want the ack of seq %d", ack, m1.num("seq"))
	}

	csat := map[string]any{"type": "csat", "client_id": uuid.NewString(), "chat_id": chatID, "rating": 4}
	visitor.send(csat)
	visitor.reply(csat["client_id"].(string), "ack")
	visitor.send(csat)
	visitor.nthReply(csat["client_id"].(string), 2)

	time.Sleep(300 * time.Millisecond)
	last := m1.num("seq") + 2
	checkSeqs(t, "agent (history then live)", agentWithHistory(agent, chatID), chatID, 1, last)
	checkSeqs(t, "visitor", visitor, chatID, 1, last)
	if n := agent.count("note", nil); n != 1 {
		t.Errorf("agent received the note %d times", n)
	}
	for name, c := range map[string]*wsClient{"agent": agent, "visitor": visitor, "other tab": other} {
		if n := c.count("chat.closed", forChat(chatID)); n != 1 {
			t.Errorf("%s received chat.closed %d times", name, n)
		}
	}
	if n := agent.count("chat.assigned", forChat(chatID)); n != 1 {
		t.Errorf("agent was assigned the chat %d times", n)
	}
	// Only one chat exists: a new start makes a new chat, not an "existing" one.
	if ack := visitor.call(map[string]any{"type": "chat.start", "unit": "general", "text": "again", "age_confirmed": true}); ack["existing"] == true || ack.str("chat_id") == chatID {
		t.Errorf("new chat.start after close: %v", ack)
	}
}

// TestIdempotentTransfer: a chat.transfer re-sent (its ack lost) gets the
// same ack, not an error, although the chat is no longer the agent's.
func TestIdempotentTransfer(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t))
	ece, _ := newAgent(t, n, "Ece", []string{"general"}, 1)
	visitor, _ := newVisitor(t, n)
	chatID := startChat(t, visitor, "general", "hello there")
	ece.expect("chat.assigned", forChat(chatID))
	tr := map[string]any{"type": "chat.transfer", "client_id": uuid.NewString(), "chat_id": chatID, "unit": "technical"}
	ece.send(tr)
	first := ece.reply(tr["client_id"].(string), "ack")
	ece.send(tr)
	if again := ece.nthReply(tr["client_id"].(string), 2); again.str("type") != "ack" || again.str("chat_id") != first.str("chat_id") {
		t.Errorf("re-sent chat.transfer got %v, want the same ack %v", again, first)
	}
	time.Sleep(200 * time.Millisecond)
	if n := visitor.count("chat.transferred", forChat(chatID)); n > 1 {
		t.Errorf("visitor told of the transfer %d times", n)
	}
}

// TestShutdownGoingAway: stopping a node closes its sockets with 1001; the
// clients carry on through the other node.
func TestShutdownGoingAway(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	a, b := startNode(t, vars), startNode(t, vars)
	ag := createStaff(t, a, "Ece", "agent", []string{"technical"}, 2)
	agent, _ := dialStaff(t, a, ag, true)
	_, token := createVisitor(t, a)
	visitor, _ := dialVisitor(t, a, token)
	onB, _ := dialVisitor(t, b, token)
	chatID := startChat(t, visitor, "technical", "page does not load")
	agent.expect("chat.assigned", forChat(chatID))
	agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": "checking"})
	visitor.waitSeqs(chatID, 2)

	stopped := make(chan struct{})
	go func() { a.stop(); close(stopped) }()
	if code := visitor.closed(); code != websocket.StatusGoingAway {
		t.Errorf("visitor socket closed with %d, want 1001", code)
	}
	if code := agent.closed(); code != websocket.StatusGoingAway {
		t.Errorf("agent socket closed with %d, want 1001", code)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("node did not stop within 10s")
	}
	if !onB.isOpen() {
		t.Fatal("a socket on the other node was closed")
	}

	// Both reconnect to the surviving node and resume.
	agent2, hello := dialStaff(t, b, ag, false)
	if chats, _ := hello["chats"].([]any); len(chats) != 1 {
		t.Fatalf("agent lost the chat across the shutdown: %v", hello)
	}
	agent2.send(map[string]any{"type": "resume", "chat_id": chatID, "after_seq": 2})
	onB.call(map[string]any{"type": "message", "chat_id": chatID, "text": "still here"})
	agent2.waitSeqs(chatID, 3)
	checkSeqs(t, "agent on the surviving node", agent2, chatID, 3, 3)
}

// TestShutdownWhileSocketsOpen: a node that stops while sockets are being
// opened closes each of them cleanly (under -race: Shutdown and a new
// connection's setup never touch the same state unguarded).
func TestShutdownWhileSocketsOpen(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t))
	_, token := createVisitor(t, n)
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ws, _, err := websocket.Dial(ctx, wsURL(n, "/ws/visitor?token="+token), nil)
			if err != nil {
				return // refused once the node is stopping
			}
			defer ws.CloseNow()
			for {
				if _, _, err := ws.Read(ctx); err != nil {
					if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway && code != -1 {
						t.Errorf("closed with %d, want 1001", code)
					}
					return
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n.Live.Shutdown(ctx)
	wg.Wait()
}

// TestEscalation: an agent escalates a chat into a ticket; both sides are
// told, the chat takes no more messages, and the agent's slot is freed.
func TestEscalation(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	a, b := startNode(t, vars), startNode(t, vars)
	agent, _ := newAgent(t, b, "Ece", []string{"financial"}, 1)
	visitor, _ := newVisitor(t, a)
	chatID := startChat(t, visitor, "financial", "my withdrawal is missing")
	agent.expect("chat.assigned", forChat(chatID))
	waiting, _ := newVisitor(t, a)
	next := startChat(t, waiting, "financial", "refund please")
	waiting.expect("chat.queued", forChat(next))

	esc := map[string]any{"type": "chat.escalate", "client_id": uuid.NewString(), "chat_id": chatID, "subject": "Missing withdrawal"}
	agent.send(esc)
	ack := agent.reply(esc["client_id"].(string), "ack")
	if ack.str("ticket_id") == "" || ack.str("chat_id") != chatID {
		t.Fatalf("escalate ack %v", ack)
	}
	for name, c := range map[string]*wsClient{"visitor": visitor, "agent": agent} {
		if f := c.expect("chat.escalated", forChat(chatID)); f.str("ticket_id") != ack.str("ticket_id") {
			t.Errorf("%s: chat.escalated %v", name, f)
		}
	}
	agent.send(esc)
	if again := agent.nthReply(esc["client_id"].(string), 2); again.str("ticket_id") != ack.str("ticket_id") {
		t.Errorf("re-sent escalate: %v, want ticket %s", again, ack.str("ticket_id"))
	}
	if code := visitor.callErr(map[string]any{"type": "message", "chat_id": chatID, "text": "hello?"}); code != "chat_closed" {
		t.Errorf("message to an escalated chat: %s, want chat_closed", code)
	}
	agent.expect("chat.assigned", forChat(next))
	time.Sleep(200 * time.Millisecond)
	if n := visitor.count("chat.escalated", nil); n != 1 {
		t.Errorf("visitor told of the escalation %d times", n)
	}
}
