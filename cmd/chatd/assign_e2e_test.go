package main

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/google/uuid"
)

// TestAssignmentBurst: sixty visitors on two nodes start at once; agents on
// both nodes fill every free slot exactly, the rest wait with positions
// 1..k, later arrivals queue behind them, and a freed slot takes the oldest
// waiting chat within a second.
func TestAssignmentBurst(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	a, b := startNode(t, vars), startNode(t, vars)
	nodes := []*node{a, b}
	type agentSlot struct {
		c   *wsClient
		id  string
		max int
	}
	var agents []agentSlot
	for i, spec := range []struct {
		n   *node
		max int
	}{{a, 3}, {a, 2}, {b, 4}, {b, 1}} {
		c, id := newAgent(t, spec.n, fmt.Sprintf("Agent%d", i), []string{"technical"}, spec.max)
		agents = append(agents, agentSlot{c, id, spec.max})
	}
	slots := 0
	for _, ag := range agents {
		slots += ag.max
	}

	const visitors = 60
	clients := make([]*wsClient, visitors)
	for i := range clients {
		clients[i], _ = newVisitor(t, nodes[i%2])
	}
	ids := make([]string, visitors)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i, c := range clients {
		ids[i] = uuid.NewString()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			if err := c.trySend(map[string]any{"type": "chat.start", "client_id": ids[i], "unit": "technical", "text": fmt.Sprintf("burst %d: the app crashes", i), "age_confirmed": true}); err != nil {
				t.Errorf("visitor %d: %v", i, err)
			}
		}()
	}
	close(gate)
	wg.Wait()
	chatOf := map[string]int{} // chat -> visitor index
	for i, c := range clients {
		ack := c.reply(ids[i], "ack")
		if _, dup := chatOf[ack.str("chat_id")]; dup || ack["existing"] == true {
			t.Fatalf("visitor %d got chat %v, already given", i, ack)
		}
		chatOf[ack.str("chat_id")] = i
	}

	assignedChats := func() map[string]string { // chat -> agent
		out := map[string]string{}
		for _, ag := range agents {
			for _, f := range ag.c.matching("chat.assigned", nil) {
				if prev, ok := out[f.str("chat_id")]; ok {
					t.Errorf("chat %s assigned to %s and %s", f.str("chat_id"), prev, ag.id)
				}
				out[f.str("chat_id")] = ag.id
			}
		}
		return out
	}
	if !waitUntil(5*time.Second, func() bool { return len(assignedChats()) >= slots }) {
		t.Fatalf("%d chats assigned, want %d", len(assignedChats()), slots)
	}
	time.Sleep(300 * time.Millisecond) // nothing more may come
	assigned := assignedChats()
	if len(assigned) != slots {
		t.Errorf("%d chats assigned to %d slots", len(assigned), slots)
	}
	for _, ag := range agents {
		if n := ag.c.count("chat.assigned", nil); n != ag.max {
			t.Errorf("agent %s (max %d) was given %d chats", ag.id, ag.max, n)
		}
	}
	for chatID, agentID := range assigned {
		v := clients[chatOf[chatID]]
		if f := v.expect("chat.assigned", forChat(chatID)); agentOf(f) != agentID {
			t.Errorf("visitor of %s told agent %s, agents say %s", chatID, agentOf(f), agentID)
		}
	}

	// Everyone else waits, positions 1..k without holes or repeats, as the
	// agents' queue frame lists them.
	k := visitors - slots
	var order []string
	settled := waitUntil(5*time.Second, func() bool {
		q := agents[0].c.matching("queue", func(f frame) bool { return f.str("unit") == "technical" })
		if len(q) == 0 {
			return false
		}
		items, _ := q[len(q)-1]["chats"].([]any)
		if len(items) != k {
			return false
		}
		order = order[:0]
		for i, it := range items {
			m := it.(map[string]any)
			if m["position"] != float64(i+1) {
				return false
			}
			order = append(order, m["chat_id"].(string))
		}
		for pos, chatID := range order {
			f := clients[chatOf[chatID]].lastQueued(chatID)
			if f == nil || f.num("position") != int64(pos+1) {
				return false
			}
		}
		return true
	})
	if !settled {
		for pos, chatID := range order {
			if f := clients[chatOf[chatID]].lastQueued(chatID); f == nil || f.num("position") != int64(pos+1) {
				t.Errorf("chat at queue position %d: visitor's last chat.queued is %v", pos+1, f)
			}
		}
		t.Fatalf("queue did not settle to positions 1..%d (queue frame order %d long)", k, len(order))
	}
	for chatID := range assigned {
		if slices.Contains(order, chatID) {
			t.Errorf("assigned chat %s is still queued", chatID)
		}
	}

	// Later arrivals queue behind, in start order.
	var late []string
	lateClients := map[string]*wsClient{}
	for i := 0; i < 3; i++ {
		v, _ := newVisitor(t, nodes[i%2])
		id := startChat(t, v, "technical", fmt.Sprintf("late %d", i))
		if q := v.expect("chat.queued", forChat(id)); q.num("position") != int64(k+i+1) {
			t.Errorf("late visitor %d queued at %d, want %d", i, q.num("position"), k+i+1)
		}
		late = append(late, id)
		lateClients[id] = v
	}
	order = append(order, late...)
	clientOf := func(chatID string) *wsClient {
		if c, ok := lateClients[chatID]; ok {
			return c
		}
		return clients[chatOf[chatID]]
	}

	// Freed slots take the head of the queue within a second, on either node.
	for round, ag := range []agentSlot{agents[3], agents[0]} {
		var mine string
		for chatID, agentID := range assigned {
			if agentID == ag.id {
				mine = chatID
				break
			}
		}
		head := order[0]
		before := ag.c.count("chat.assigned", nil)
		start := time.Now()
		ag.c.call(map[string]any{"type": "chat.close", "chat_id": mine})
		delete(assigned, mine)
		if !waitUntil(time.Second, func() bool { return ag.c.count("chat.assigned", forChat(head)) == 1 }) {
			t.Fatalf("round %d: the freed agent did not get the head chat within 1s (got %v)", round, ag.c.matching("chat.assigned", nil)[before:])
		}
		t.Logf("round %d: head assigned %v after the close", round, time.Since(start))
		if f := clientOf(head).expect("chat.assigned", forChat(head)); agentOf(f) != ag.id {
			t.Errorf("round %d: head's visitor told agent %s, want %s", round, agentOf(f), ag.id)
		}
		for _, other := range agents {
			if other.id != ag.id && other.c.count("chat.assigned", forChat(head)) != 0 {
				t.Errorf("round %d: head chat also given to %s", round, other.id)
			}
		}
		assigned[head] = ag.id
		order = order[1:]
		// Everyone behind moves up one.
		ok := waitUntil(3*time.Second, func() bool {
			for pos, chatID := range order {
				if f := clientOf(chatID).lastQueued(chatID); f == nil || f.num("position") != int64(pos+1) {
					return false
				}
			}
			return true
		})
		if !ok {
			for pos, chatID := range order {
				if f := clientOf(chatID).lastQueued(chatID); f == nil || f.num("position") != int64(pos+1) {
					t.Errorf("round %d: chat now at position %d was last told %v", round, pos+1, f)
				}
			}
		}
	}
}

// TestOneVisitorManyStarts: fifty chat.start at once from one visitor's
// sockets on two nodes make one chat.
func TestOneVisitorManyStarts(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	a, b := startNode(t, vars), startNode(t, vars)
	_, token := createVisitor(t, a)
	const n = 50
	tabs := make([]*wsClient, n)
	for i := range tabs {
		tabs[i], _ = dialVisitor(t, []*node{a, b}[i%2], token)
	}
	ids := make([]string, n)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range tabs {
		ids[i] = uuid.NewString()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			if err := c.trySend(map[string]any{"type": "chat.start", "client_id": ids[i], "unit": "general", "text": fmt.Sprintf("tab %d", i), "age_confirmed": true}); err != nil {
				t.Errorf("tab %d: %v", i, err)
			}
		}()
	}
	close(gate)
	wg.Wait()
	chats := map[string]int{}
	created := 0
	for i, c := range tabs {
		ack := c.nthReply(ids[i], 1)
		if ack.str("type") != "ack" {
			t.Errorf("tab %d: %v", i, ack)
			continue
		}
		chats[ack.str("chat_id")]++
		if ack["existing"] != true {
			created++
		}
	}
	if len(chats) != 1 || created != 1 {
		t.Fatalf("%d chats (%v), %d acks without existing; want one chat created once", len(chats), chats, created)
	}
	var chatID string
	for id := range chats {
		chatID = id
	}
	for i, c := range tabs {
		c.waitSeqs(chatID, 1)
		if got := c.seqs(chatID); len(got) != 1 {
			t.Errorf("tab %d received seqs %v, want [1]", i, got)
		}
	}
	agent, _ := newAgent(t, b, "Ece", []string{"general"}, 5)
	agent.expect("chat.assigned", forChat(chatID))
	time.Sleep(300 * time.Millisecond)
	if n := agent.count("chat.assigned", nil); n != 1 {
		t.Errorf("agent was given %d chats, want 1", n)
	}
}

// TestTransfers: to a named agent and to another unit; both sides are told,
// the old agent stops following, the new one gets the whole history.
func TestTransfers(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	a, b := startNode(t, vars), startNode(t, vars)
	ece := createStaff(t, a, "Ece", "agent", []string{"technical"}, 2)
	ali := createStaff(t, b, "Ali", "agent", []string{"technical"}, 2)
	fin := createStaff(t, b, "Fin", "agent", []string{"financial"}, 2)
	agentEce, _ := dialStaff(t, a, ece, true)
	visitor, _ := newVisitor(t, a)
	chatID := startChat(t, visitor, "technical", "error on checkout page")
	agentEce.expect("chat.assigned", forChat(chatID))
	visitor.expect("chat.assigned", func(f frame) bool { return agentOf(f) == ece.id })
	agentAli, _ := dialStaff(t, b, ali, true)
	agentFin, _ := dialStaff(t, b, fin, true)
	agentEce.call(map[string]any{"type": "message", "chat_id": chatID, "text": "let me pass you on"})
	agentEce.call(map[string]any{"type": "note", "chat_id": chatID, "text": "payment issue really"})

	// To a named agent.
	agentEce.call(map[string]any{"type": "chat.transfer", "chat_id": chatID, "agent_id": ali.id})
	for name, c := range map[string]*wsClient{"visitor": visitor, "Ece": agentEce} {
		tf := c.expect("chat.transferred", forChat(chatID))
		from, _ := tf["from_agent"].(map[string]any)
		to, _ := tf["agent"].(map[string]any)
		if from["id"] != ece.id || to["id"] != ali.id || tf.str("unit") != "technical" || tf.str("reason") != "transfer" {
			t.Errorf("%s: chat.transferred %v", name, tf)
		}
	}
	if f := visitor.expect("chat.assigned", forChat(chatID)); agentOf(f) != ali.id {
		t.Errorf("visitor: chat.assigned %v, want Ali", f)
	}
	as := agentAli.expect("chat.assigned", forChat(chatID))
	if h, _ := as["history"].([]any); len(h) != 2 {
		t.Errorf("Ali's history has %d messages, want 2: %v", len(h), as)
	}
	if notes, _ := as["notes"].([]any); len(notes) != 1 {
		t.Errorf("Ali's chat.assigned has notes %v, want the one note", as["notes"])
	}
	visitor.call(map[string]any{"type": "message", "chat_id": chatID, "text": "ok"}) // 3
	agentAli.waitSeqs(chatID, 3)
	if code := agentEce.callErr(map[string]any{"type": "message", "chat_id": chatID, "text": "still me"}); code != "not_assigned" {
		t.Errorf("old agent writing after the transfer: %s, want not_assigned", code)
	}
	agentEce.send(map[string]any{"type": "typing", "chat_id": chatID, "on": true})
	if f := agentEce.nextErr(); f.str("code") != "not_assigned" {
		t.Errorf("old agent typing after the transfer: %v, want not_assigned", f)
	}
	agentAli.call(map[string]any{"type": "message", "chat_id": chatID, "text": "Ali here"}) // 4
	visitor.waitSeqs(chatID, 4)

	// To another unit: it is assigned there at once.
	agentAli.call(map[string]any{"type": "chat.transfer", "chat_id": chatID, "unit": "financial"})
	for name, c := range map[string]*wsClient{"visitor": visitor, "Ali": agentAli} {
		tf := c.expect("chat.transferred", func(f frame) bool { return f.str("unit") == "financial" })
		if from, _ := tf["from_agent"].(map[string]any); from["id"] != ali.id {
			t.Errorf("%s: chat.transferred %v", name, tf)
		}
	}
	va := visitor.expect("chat.assigned", func(f frame) bool { return f.str("unit") == "financial" })
	if agentOf(va) != fin.id {
		t.Errorf("visitor: chat.assigned %v, want Fin", va)
	}
	fa := agentFin.expect("chat.assigned", forChat(chatID))
	h, _ := fa["history"].([]any)
	if len(h) != 4 || fa.str("unit") != "financial" {
		t.Errorf("Fin's chat.assigned: unit %s, %d messages in history, want financial and 4", fa.str("unit"), len(h))
	}
	for i, m := range h {
		if m.(map[string]any)["seq"] != float64(i+1) {
			t.Errorf("history[%d] = %v", i, m)
		}
	}
	visitor.call(map[string]any{"type": "message", "chat_id": chatID, "text": "money question"}) // 5
	agentFin.waitSeqs(chatID, 5)
	agentFin.call(map[string]any{"type": "message", "chat_id": chatID, "text": "Fin here"}) // 6
	visitor.waitSeqs(chatID, 6)
	time.Sleep(200 * time.Millisecond)
	checkSeqs(t, "visitor", visitor, chatID, 1, 6)
	checkSeqs(t, "Fin", agentWithHistory(agentFin, chatID), chatID, 1, 6)
	// The former agents no longer follow the chat.
	if s := agentEce.seqs(chatID); slices.Contains(s, 3) || slices.Contains(s, 5) {
		t.Errorf("Ece still receives the chat after transferring it: %v", s)
	}
	if s := agentAli.seqs(chatID); slices.Contains(s, 5) || slices.Contains(s, 6) {
		t.Errorf("Ali still receives the chat after transferring it: %v", s)
	}
	if visitor.count("note", nil) != 0 {
		t.Error("visitor received a note")
	}
	if tf := visitor.matching("typing", func(f frame) bool { return f["from"].(map[string]any)["id"] == ece.id }); len(tf) != 0 {
		t.Errorf("the former agent's typing reached the visitor: %v", tf)
	}

	// A waiting chat moves to another unit's queue keeping its place rules.
	waiting, _ := newVisitor(t, a)
	q := startChat(t, waiting, "account", "hesabım kilitlendi") // no account agent
	waiting.expect("chat.queued", forChat(q))
	sup := createStaff(t, a, "Sue", "supervisor", []string{"account", "general"}, 3)
	supC, _ := dialStaff(t, a, sup, false)
	supC.call(map[string]any{"type": "chat.transfer", "chat_id": q, "unit": "general"})
	tf := waiting.expect("chat.transferred", forChat(q))
	if tf.str("unit") != "general" || tf["from_agent"] != nil {
		t.Errorf("queued chat's chat.transferred %v", tf)
	}
	if f := waiting.expect("chat.queued", func(f frame) bool { return f.str("unit") == "general" }); f.num("position") != 1 {
		t.Errorf("queued chat in its new unit: %v", f)
	}
}

// TestUrgentJumpsTheQueue: a suspected account takeover waits ahead of
// ordinary chats, urgent ones among themselves by arrival.
func TestUrgentJumpsTheQueue(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	a, b := startNode(t, vars), startNode(t, vars)
	type waiter struct {
		c    *wsClient
		chat string
	}
	var ws []waiter
	start := func(n *node, text string) waiter {
		v, _ := newVisitor(t, n)
		ack := v.call(map[string]any{"type": "chat.start", "unit": "auto", "text": text, "age_confirmed": true})
		w := waiter{v, ack.str("chat_id")}
		ws = append(ws, w)
		return w
	}
	wantPositions := func(step string, want map[int]int) {
		t.Helper()
		ok := waitUntil(3*time.Second, func() bool {
			for i, pos := range want {
				if f := ws[i].c.lastQueued(ws[i].chat); f == nil || f.num("position") != int64(pos) || f.str("unit") != "account" {
					return false
				}
			}
			return true
		})
		if !ok {
			for i, pos := range want {
				t.Errorf("%s: visitor %d last told %v, want position %d in account", step, i, ws[i].c.lastQueued(ws[i].chat), pos)
			}
		}
	}
	start(a, "şifremi unuttum")
	start(b, "hesabıma giriş yapamıyorum")
	start(a, "I forgot my password")
	wantPositions("normal chats", map[int]int{0: 1, 1: 2, 2: 3})
	start(b, "hesabım çalındı")
	wantPositions("first urgent", map[int]int{0: 2, 1: 3, 2: 4, 3: 1})
	start(a, "my account was hacked")
	wantPositions("second urgent", map[int]int{0: 3, 1: 4, 2: 5, 3: 1, 4: 2})

	agent, _ := newAgent(t, b, "Ece", []string{"account"}, 1)
	q := agent.matching("queue", func(f frame) bool { return f.str("unit") == "account" })
	if len(q) > 0 {
		items, _ := q[0]["chats"].([]any)
		if len(items) > 0 && items[0].(map[string]any)["priority"].(float64) <= 0 {
			t.Errorf("queue frame does not mark the urgent head: %v", q[0])
		}
	}
	if f := agent.expect("chat.assigned", nil); f.str("chat_id") != ws[3].chat {
		t.Errorf("first chat given out was %s, want the first urgent one %s", f.str("chat_id"), ws[3].chat)
	}
	wantPositions("after the first assignment", map[int]int{0: 2, 1: 3, 2: 4, 4: 1})
}

// TestAutoClassification: chats started with unit auto or none land in the
// unit their first message is about, in Turkish and in English.
func TestAutoClassification(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t))
	tests := []struct {
		unit any // nil: field omitted
		text string
		want string
	}{
		{"auto", "ŞİFREMİ UNUTTUM", "account"},
		{nil, "Hesabıma giriş yapamıyorum", "account"},
		{"auto", "I can't log in, 2FA code never arrives", "account"},
		{"auto", "Para çekme talebim 3 gündür bekliyor", "financial"},
		{nil, "I want a refund for this invoice", "financial"},
		{"auto", "kartım çalındı, yetkisiz işlem var", "financial"},
		{"auto", "Uygulama açılmıyor, sürekli hata veriyor", "technical"},
		{nil, "The app crashed with an error", "technical"},
		{"auto", "Bugün şifremi değiştiremedim", "account"},
		{"auto", "Merhaba, kampanya hakkında bilgi almak istiyorum", "general"},
		{nil, "asdf qwerty", "general"},
		{"technical", "I want a refund", "technical"}, // an explicit unit wins
	}
	for _, tt := range tests {
		v, _ := newVisitor(t, n)
		f := map[string]any{"type": "chat.start", "text": tt.text, "age_confirmed": true}
		if tt.unit != nil {
			f["unit"] = tt.unit
		}
		id := v.call(f).str("chat_id")
		if q := v.expect("chat.queued", forChat(id)); q.str("unit") != tt.want {
			t.Errorf("%q (unit %v) went to %s, want %s", tt.text, tt.unit, q.str("unit"), tt.want)
		}
	}
}

// TestAgentGracePeriod: an agent that drops keeps its chats while it comes
// back within the grace period; after it the chats go to the head of the
// queue and the visitor is told.
func TestAgentGracePeriod(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t, "CHAT_AGENT_GRACE", "1s")
	a, b := startNode(t, vars), startNode(t, vars)
	ece := createStaff(t, a, "Ece", "agent", []string{"account"}, 1)
	agent, _ := dialStaff(t, a, ece, true)
	v1, _ := newVisitor(t, b)
	c1 := startChat(t, v1, "account", "şifremi unuttum")
	agent.expect("chat.assigned", forChat(c1))
	v1.expect("chat.assigned", forChat(c1))
	v2, _ := newVisitor(t, b)
	c2 := startChat(t, v2, "account", "hesabım kilitlendi")
	if q := v2.expect("chat.queued", forChat(c2)); q.num("position") != 1 {
		t.Fatalf("second chat queued %v", q)
	}

	// Back within the grace period: nothing changes.
	agent.drop()
	time.Sleep(300 * time.Millisecond)
	agent, hello := dialStaff(t, b, ece, false)
	if chats, _ := hello["chats"].([]any); len(chats) != 1 || chats[0].(map[string]any)["id"] != c1 {
		t.Fatalf("agent's hello after a short drop: %v", hello)
	}
	time.Sleep(2500 * time.Millisecond) // past grace and sweep
	if n := v1.count("chat.transferred", nil); n != 0 {
		t.Fatalf("visitor told of a transfer although the agent came back: %v", v1.matching("chat.transferred", nil))
	}
	agent.call(map[string]any{"type": "message", "chat_id": c1, "text": "still here"})
	v1.waitSeqs(c1, 2)

	// Gone past the grace period: the chat goes back, ahead of the one waiting.
	agent.drop()
	gone := time.Now()
	tf := v1.expect("chat.transferred", forChat(c1))
	if tf.str("reason") != "agent_unavailable" {
		t.Errorf("chat.transferred %v, want reason agent_unavailable", tf)
	}
	if from, _ := tf["from_agent"].(map[string]any); from["id"] != ece.id {
		t.Errorf("chat.transferred from %v, want Ece", tf["from_agent"])
	}
	if d := time.Since(gone); d < time.Second {
		t.Errorf("chat taken back %v after the drop, before the 1s grace", d)
	}
	if q := v1.expect("chat.queued", forChat(c1)); q.num("position") != 1 {
		t.Errorf("requeued chat at position %d, want 1 (head)", q.num("position"))
	}
	if !waitUntil(3*time.Second, func() bool {
		f := v2.lastQueued(c2)
		return f != nil && f.num("position") == 2
	}) {
		t.Errorf("waiting chat last told %v, want position 2", v2.lastQueued(c2))
	}
	// The next agent online takes the requeued chat first.
	ali, aliID := newAgent(t, b, "Ali", []string{"account"}, 1)
	if f := ali.expect("chat.assigned", nil); f.str("chat_id") != c1 {
		t.Errorf("next agent got %s, want the requeued chat %s", f.str("chat_id"), c1)
	}
	if f := v1.expect("chat.assigned", forChat(c1)); agentOf(f) != aliID {
		t.Errorf("visitor told %v, want Ali", f)
	}
	ali.call(map[string]any{"type": "message", "chat_id": c1, "text": "Ali here"})
	v1.waitSeqs(c1, 3)
	// Ece, back after the grace period, has no chats; still "online", she
	// takes the one waiting.
	ece2, hello := dialStaff(t, a, ece, false)
	if chats, _ := hello["chats"].([]any); len(chats) != 0 {
		t.Errorf("agent still holds chats after the grace period: %v", hello)
	}
	ece2.expect("chat.assigned", forChat(c2))
	if code := ece2.callErr(map[string]any{"type": "message", "chat_id": c1, "text": "mine?"}); code != "not_assigned" {
		t.Errorf("Ece writing to her lost chat: %s, want not_assigned", code)
	}
}

// TestAgentWithTwoConsoles: closing one of an agent's two consoles (on
// different nodes) is not the agent's last connection dropping: it keeps its
// chats past the grace period.
func TestAgentWithTwoConsoles(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t, "CHAT_AGENT_GRACE", "1s")
	a, b := startNode(t, vars), startNode(t, vars)
	ece := createStaff(t, a, "Ece", "agent", []string{"general"}, 2)
	one, _ := dialStaff(t, a, ece, true)
	two, _ := dialStaff(t, b, ece, false)
	v, _ := newVisitor(t, a)
	id := startChat(t, v, "general", "hello")
	one.expect("chat.assigned", forChat(id))
	two.expect("chat.assigned", forChat(id))
	one.drop()
	time.Sleep(3 * time.Second)
	if tf := v.matching("chat.transferred", nil); len(tf) != 0 {
		t.Errorf("agent still connected on another node lost the chat: %v", tf)
	}
	if ack := two.nthReply(sendID(two, map[string]any{"type": "message", "chat_id": id, "text": "still mine"}), 1); ack.str("type") != "ack" {
		t.Errorf("agent's remaining console cannot write: %v", ack)
	}
	// And new chats still reach it.
	v2, _ := newVisitor(t, b)
	id2 := startChat(t, v2, "general", "hi again")
	if !waitUntil(3*time.Second, func() bool { return two.count("chat.assigned", forChat(id2)) == 1 }) {
		t.Errorf("a connected agent with a free slot got no new chat (v2 got %v)", v2.all())
	}
}

// sendID sends a frame with a fresh client_id and returns the id.
func sendID(c *wsClient, v map[string]any) string {
	id := uuid.NewString()
	v["client_id"] = id
	c.send(v)
	return id
}

// TestPresenceAndCapacity: an away agent keeps its chats and gets no new
// ones; coming online or a raised capacity takes waiting chats at once.
func TestPresenceAndCapacity(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	a, b := startNode(t, vars), startNode(t, vars)
	ece := createStaff(t, a, "Ece", "agent", []string{"technical"}, 1)
	agent, _ := dialStaff(t, a, ece, true)
	v1, _ := newVisitor(t, b)
	c1 := startChat(t, v1, "technical", "crash")
	agent.expect("chat.assigned", forChat(c1))

	agent.call(map[string]any{"type": "presence", "status": "away"})
	agent.call(map[string]any{"type": "message", "chat_id": c1, "text": "away but here"})
	v1.waitSeqs(c1, 2)
	v2, _ := newVisitor(t, b)
	c2 := startChat(t, v2, "technical", "another crash")
	if q := v2.expect("chat.queued", forChat(c2)); q["offline"] != true {
		t.Errorf("with the only agent away, chat.queued says offline=%v, want true", q["offline"])
	}
	agent.call(map[string]any{"type": "presence", "status": "online"})
	// Full (1 of 1): it still waits.
	time.Sleep(300 * time.Millisecond)
	if n := agent.count("chat.assigned", forChat(c2)); n != 0 {
		t.Fatal("a full agent was given a chat")
	}
	// A raised capacity takes it at once.
	admin := login(t, b, "admin@example.com", "admin-password")
	var patched map[string]any
	if code := api(t, "PATCH", b.url+"/api/v1/agents/"+ece.id, admin, map[string]any{"max_chats": 2}, &patched); code != 200 {
		t.Fatalf("raise capacity: %d %v", code, patched)
	}
	agent.expect("chat.assigned", forChat(c2))
	v2.expect("chat.assigned", forChat(c2))

	// Going offline keeps the chats; a new chat waits.
	agent.call(map[string]any{"type": "presence", "status": "offline"})
	agent.call(map[string]any{"type": "message", "chat_id": c2, "text": "offline but finishing"})
	v2.waitSeqs(c2, 2)
	agent.call(map[string]any{"type": "chat.close", "chat_id": c1})
	v3, _ := newVisitor(t, a)
	c3 := startChat(t, v3, "technical", "third")
	v3.expect("chat.queued", forChat(c3))
	time.Sleep(300 * time.Millisecond)
	if n := agent.count("chat.assigned", forChat(c3)); n != 0 {
		t.Error("an offline agent was given a chat")
	}
	agent.call(map[string]any{"type": "presence", "status": "online"})
	agent.expect("chat.assigned", forChat(c3))
}

// TestSupervisorJoins: a supervisor may follow and answer any chat of their
// units; a supervisor of other units may not.
func TestSupervisorJoins(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	a, b := startNode(t, vars), startNode(t, vars)
	agent, _ := newAgent(t, a, "Ece", []string{"account"}, 1)
	v, _ := newVisitor(t, a)
	chatID := startChat(t, v, "account", "şifremi unuttum")
	agent.expect("chat.assigned", forChat(chatID))
	sup := createStaff(t, b, "Sue", "supervisor", []string{"account"}, 3)
	supC, _ := dialStaff(t, b, sup, false)
	supC.send(map[string]any{"type": "resume", "chat_id": chatID, "after_seq": 0, "after_note": 0})
	supC.waitSeqs(chatID, 1)
	supC.call(map[string]any{"type": "message", "chat_id": chatID, "text": "supervisor here"})
	m := v.expect("message", bySeq(chatID, 2))
	if from := m["from"].(map[string]any); from["id"] != sup.id || from["kind"] != "agent" {
		t.Errorf("visitor got %v", m)
	}
	agent.expect("message", bySeq(chatID, 2))
	supC.call(map[string]any{"type": "note", "chat_id": chatID, "text": "watch this one"})
	agent.expect("note", nil)
	other := createStaff(t, b, "Oz", "supervisor", []string{"financial"}, 3)
	otherC, _ := dialStaff(t, b, other, false)
	if code := otherC.callErr(map[string]any{"type": "message", "chat_id": chatID, "text": "hi"}); code != "not_found" {
		t.Errorf("supervisor of another unit writing: %s, want not_found", code)
	}
	// A plain agent of the unit who does not hold the chat cannot look in,
	// nor show themselves typing.
	bystander, _ := newAgent(t, b, "Bo", []string{"account"}, 1)
	if code := bystander.callErr(map[string]any{"type": "resume", "chat_id": chatID, "after_seq": 0}); code != "not_assigned" {
		t.Errorf("agent resuming another agent's chat: %s, want not_assigned", code)
	}
	if code := bystander.callErr(map[string]any{"type": "typing", "chat_id": chatID, "on": true}); code != "not_assigned" {
		t.Errorf("agent typing in another agent's chat: %s, want not_assigned", code)
	}
	// A resume past the end is refused, not silently followed.
	if code := supC.callErr(map[string]any{"type": "resume", "chat_id": chatID, "after_seq": 1 << 40}); code != "invalid_request" {
		t.Errorf("resume past the last seq: %s, want invalid_request", code)
	}
	time.Sleep(200 * time.Millisecond)
	if v.count("note", nil) != 0 {
		t.Error("visitor received a note")
	}
	if v.count("typing", nil) != 0 {
		t.Error("visitor saw a bystander typing")
	}
	// The supervisor's look into the chat is on the record.
	var log struct {
		Items []map[string]any `json:"items"`
	}
	admin := login(t, b, "admin@example.com", "admin-password")
	if code := api(t, "GET", b.url+"/api/v1/audit", admin, nil, &log); code != 200 {
		t.Fatalf("audit: %d", code)
	}
	viewed := 0
	for _, e := range log.Items {
		if e["action"] == "chat.viewed" && e["object_id"] == chatID && e["actor_id"] == sup.id {
			viewed++
		}
	}
	if viewed != 1 {
		t.Errorf("%d chat.viewed rows for the supervisor, want 1: %v", viewed, log.Items)
	}
}

// TestTakenBackChatToAFreeAgent: when an agent stays away past the grace
// period and another agent of the unit has room, the chat goes straight to
// them, and the visitor hears why before hearing who.
func TestTakenBackChatToAFreeAgent(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t, "CHAT_AGENT_GRACE", "1s")
	a, b := startNode(t, vars), startNode(t, vars)
	ece := createStaff(t, a, "Ece", "agent", []string{"technical"}, 1)
	eceConn, _ := dialStaff(t, a, ece, true)
	v, _ := newVisitor(t, b)
	c1 := startChat(t, v, "technical", "the app crashes")
	eceConn.expect("chat.assigned", forChat(c1))
	ali, aliID := newAgent(t, b, "Ali", []string{"technical"}, 1)
	eceConn.drop()

	got := ali.expect("chat.assigned", forChat(c1))
	if h, _ := got["history"].([]any); len(h) != 1 {
		t.Errorf("Ali's copy has history %v", got["history"])
	}
	tf := v.expect("chat.transferred", forChat(c1))
	if tf.str("reason") != "agent_unavailable" {
		t.Errorf("chat.transferred %v, want reason agent_unavailable", tf)
	}
	if from, _ := tf["from_agent"].(map[string]any); from["id"] != ece.id {
		t.Errorf("from_agent %v, want Ece", tf["from_agent"])
	}
	if to, _ := tf["agent"].(map[string]any); to["id"] != aliID {
		t.Errorf("agent %v, want Ali", tf["agent"])
	}
	if f := v.expect("chat.assigned", forChat(c1)); agentOf(f) != aliID {
		t.Errorf("visitor told %v, want Ali", f)
	}
	if n := v.count("chat.queued", forChat(c1)); n != 0 {
		t.Errorf("visitor told of a queue %d times; the chat never waited", n)
	}
}

// TestPresenceResendIsNotReapplied: a presence frame sent again with its
// client_id (a reconnecting console resending what it saw no ack for) is
// acked but does not undo a later change.
func TestPresenceResendIsNotReapplied(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t))
	ece := createStaff(t, n, "Ece", "agent", []string{"financial"}, 2)
	agent, _ := dialStaff(t, n, ece, false)
	online, away := uuid.NewString(), uuid.NewString()
	agent.send(map[string]any{"type": "presence", "status": "online", "client_id": online})
	agent.reply(online, "ack")
	agent.send(map[string]any{"type": "presence", "status": "away", "client_id": away})
	agent.reply(away, "ack")
	agent.send(map[string]any{"type": "presence", "status": "online", "client_id": online})
	if ack := agent.nthReply(online, 2); ack.str("type") != "ack" {
		t.Fatalf("resent presence: %v", ack)
	}
	v, _ := newVisitor(t, n)
	id := startChat(t, v, "financial", "refund please")
	v.expect("chat.queued", forChat(id))
	time.Sleep(200 * time.Millisecond)
	if n := agent.count("chat.assigned", nil); n != 0 {
		t.Fatalf("an away agent was given a chat after a resent 'online'")
	}
}

// TestLapsedAgentComesBackLast: an agent whose connection lapsed (no socket
// past the grace) and who opens a console again, on another node and
// without a presence frame, is online again with the status he had, and
// comes online then: among equal loads, an agent who came online just
// before him has been free longer, whatever his last assignment was.
func TestLapsedAgentComesBackLast(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t, "CHAT_AGENT_GRACE", "1s")
	a, b := startNode(t, vars), startNode(t, vars)
	tek := createStaff(t, a, "Tek", "agent", []string{"technical"}, 2)
	kaan := createStaff(t, b, "Kaan", "agent", []string{"technical"}, 2)
	sue := createStaff(t, a, "Sue", "supervisor", []string{"technical"}, 1)

	// Tek takes a chat, which ends; then his socket goes and stays gone
	// past the grace.
	tekConn, _ := dialStaff(t, a, tek, true)
	v1, _ := newVisitor(t, a)
	c1 := startChat(t, v1, "technical", "uygulama açılmıyor")
	tekConn.expect("chat.assigned", forChat(c1))
	v1.call(map[string]any{"type": "chat.close", "chat_id": c1})
	tekConn.expect("chat.closed", forChat(c1))
	tekConn.drop()
	time.Sleep(2 * time.Second) // past the grace and a sweep
	if st := boardStatus(t, a, sue.token, "technical", tek.id); st != "offline" {
		t.Fatalf("Tek on the board after the lapse: %q, want offline", st)
	}

	// Kaan comes online; then Tek opens a console on the other node and
	// sends no presence.
	dialStaff(t, b, kaan, true)
	time.Sleep(20 * time.Millisecond)
	tekBack := time.Now().Truncate(time.Millisecond)
	tekConn, _ = dialStaff(t, b, tek, false)
	if st := boardStatus(t, a, sue.token, "technical", tek.id); st != "online" {
		t.Fatalf("Tek on the board after reconnecting: %q, want online (his status restored)", st)
	}

	v2, _ := newVisitor(t, a)
	c2 := startChat(t, v2, "technical", "şifre sıfırlama maili gelmiyor")
	if f := v2.expect("chat.assigned", forChat(c2)); agentOf(f) != kaan.id {
		t.Errorf("c2 went to %v, want Kaan: Tek came online after him", f["agent"])
	}
	var body struct {
		Items []chat.AssignmentRecord `json:"items"`
	}
	if code := api(t, "GET", a.url+"/api/v1/chats/"+c2+"/assignments", sue.token, nil, &body); code != 200 || len(body.Items) != 1 {
		t.Fatalf("assignments of c2: %d %+v", code, body.Items)
	}
	since := map[string]time.Time{}
	for _, c := range body.Items[0].Candidates {
		if c.FreeSince != nil {
			since[c.AgentID] = *c.FreeSince
		}
	}
	if len(since) != 2 || since[tek.id].Before(tekBack) || !since[kaan.id].Before(since[tek.id]) {
		t.Errorf("free since: Tek %v, Kaan %v; want Tek's from his return (%v), after Kaan's", since[tek.id], since[kaan.id], tekBack)
	}

	// Online without a presence frame: the next chat is his (Kaan has one).
	v3, _ := newVisitor(t, b)
	c3 := startChat(t, v3, "technical", "ödeme sayfası hata veriyor")
	tekConn.expect("chat.assigned", forChat(c3))
}

// boardStatus is an agent's status in a unit on the live board.
func boardStatus(t *testing.T, n *node, token, unit, agentID string) string {
	t.Helper()
	var board struct {
		Units []struct {
			Unit   string `json:"unit"`
			Agents []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"agents"`
		} `json:"units"`
	}
	if code := api(t, "GET", n.url+"/api/v1/board", token, nil, &board); code != 200 {
		t.Fatalf("board: %d", code)
	}
	for _, u := range board.Units {
		for _, a := range u.Agents {
			if u.Unit == unit && a.ID == agentID {
				return a.Status
			}
		}
	}
	return ""
}
