package main

import (
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/chatd/chatd/store/storetest"
)

func TestConversationOneNode(t *testing.T) {
	n := startNode(t, clusterVars(t))
	visitor, _ := newVisitor(t, n)

	ack := visitor.call(map[string]any{"type": "chat.start", "unit": "technical", "text": "the app crashes", "age_confirmed": true, "name": "Deniz"})
	chatID := ack.str("chat_id")
	if chatID == "" || ack.num("seq") != 1 {
		t.Fatalf("start ack %v", ack)
	}
	visitor.expect("message", func(f frame) bool { return f.num("seq") == 1 && f.str("text") == "the app crashes" })
	q := visitor.expect("chat.queued", nil)
	if q.num("position") != 1 || q.str("unit") != "technical" || q["offline"] != true {
		t.Fatalf("queued %v", q)
	}

	agent, agentID := newAgent(t, n, "Ece", []string{"technical"}, 2)
	as := agent.expect("chat.assigned", nil)
	if as.str("chat_id") != chatID || len(as["history"].([]any)) != 1 {
		t.Fatalf("agent assigned %v", as)
	}
	va := visitor.expect("chat.assigned", nil)
	if va["agent"].(map[string]any)["id"] != agentID || va["agent"].(map[string]any)["name"] != "Ece" {
		t.Fatalf("visitor assigned %v", va)
	}

	a1 := agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": "Hello, which version?"})
	if a1.num("seq") != 2 {
		t.Fatalf("agent message ack %v", a1)
	}
	m := visitor.expect("message", func(f frame) bool { return f.num("seq") == 2 })
	if m.str("text") != "Hello, which version?" || m["from"].(map[string]any)["kind"] != "agent" {
		t.Fatalf("visitor got %v", m)
	}
	agent.call(map[string]any{"type": "note", "chat_id": chatID, "text": "internal: known bug"})
	agent.expect("note", nil)
	visitor.call(map[string]any{"type": "message", "chat_id": chatID, "text": "4111 1111 1111 1111 is my card"})
	got := agent.expect("message", func(f frame) bool { return f.num("seq") == 3 })
	if got.str("text") != "**** **** **** 1111 is my card" {
		t.Fatalf("card not masked: %q", got.str("text"))
	}
	visitor.send(map[string]any{"type": "typing", "chat_id": chatID, "on": true})
	agent.expect("typing", func(f frame) bool { return f["on"] == true })

	agent.call(map[string]any{"type": "chat.close", "chat_id": chatID})
	visitor.expect("chat.closed", func(f frame) bool { return f.str("reason") == "agent_closed" })
	agent.expect("chat.closed", nil)
	if visitor.count("note", nil) != 0 {
		t.Fatal("visitor received an internal note")
	}
	visitor.call(map[string]any{"type": "csat", "chat_id": chatID, "rating": 5})
}

// A resume that arrives after live messages already flowed (past the
// resume window) sends only what the connection had not sent: no message
// twice, however often the client resumes. And a visitor hears of an
// assignment once.
func TestLateResumeSendsNothingTwice(t *testing.T) {
	n := startNode(t, clusterVars(t))
	agent, _ := newAgent(t, n, "Ece", []string{"general"}, 2)
	visitor, tok := newVisitor(t, n)
	chatID := visitor.call(map[string]any{"type": "chat.start", "unit": "general", "text": "one", "age_confirmed": true}).str("chat_id")
	agent.expect("chat.assigned", nil)
	visitor.expect("chat.assigned", nil)
	agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": "two"})
	visitor.expect("message", func(f frame) bool { return f.num("seq") == 2 })

	again := dial(t, wsURL(n, "/ws/visitor?token="+tok), nil)
	again.expect("hello", nil)
	agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": "three"})
	// Past the resume window the held message is delivered live.
	again.expect("message", func(f frame) bool { return f.num("seq") == 3 })
	again.send(map[string]any{"type": "resume", "chat_id": chatID, "after_seq": 1})
	agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": "four"})
	again.expect("message", func(f frame) bool { return f.num("seq") == 4 })
	// The replay of seq 2 may come before or after seq 4.
	for deadline := time.Now().Add(5 * time.Second); again.count("message", func(f frame) bool { return f.num("seq") == 2 }) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	// The same resume again, then one from the start: only seq 1 is new.
	again.send(map[string]any{"type": "resume", "chat_id": chatID, "after_seq": 1})
	again.send(map[string]any{"type": "resume", "chat_id": chatID, "after_seq": 0})
	again.expect("message", func(f frame) bool { return f.num("seq") == 1 })
	time.Sleep(100 * time.Millisecond) // room for a wrong second copy to show
	for seq := int64(1); seq <= 4; seq++ {
		if got := again.count("message", func(f frame) bool { return f.num("seq") == seq }); got != 1 {
			t.Errorf("seq %d delivered %d times on the new connection", seq, got)
		}
	}
	if got := visitor.count("chat.assigned", nil); got != 1 {
		t.Errorf("visitor got chat.assigned %d times", got)
	}
}

// A node that starts on a Redis that lost everything (an embedded Redis
// after a restart) puts the database's open chats back: the waiting chat
// is queued again and the active one counts against its agent's capacity.
func TestLiveStateRecoveredOnStart(t *testing.T) {
	vars := clusterVars(t)
	a := startNode(t, vars)
	ece := createStaff(t, a, "Ece", "agent", []string{"general"}, 1)
	eceConn, _ := dialStaff(t, a, ece, true)
	v1, _ := newVisitor(t, a)
	active := v1.call(map[string]any{"type": "chat.start", "unit": "general", "text": "first", "age_confirmed": true}).str("chat_id")
	eceConn.expect("chat.assigned", func(f frame) bool { return f.str("chat_id") == active })
	v2, _ := newVisitor(t, a)
	waiting := v2.call(map[string]any{"type": "chat.start", "unit": "general", "text": "second", "age_confirmed": true}).str("chat_id")
	v2.expect("chat.queued", nil)
	a.stop()

	fresh := maps.Clone(vars)
	fresh["CHAT_REDIS_URL"], fresh["CHAT_REDIS_PREFIX"] = storetest.RedisURL(t)
	b := startNode(t, fresh)
	eceAgain, _ := dialStaff(t, b, ece, true)
	deniz, _ := newAgent(t, b, "Deniz", []string{"general"}, 1)
	deniz.expect("chat.assigned", func(f frame) bool { return f.str("chat_id") == waiting })
	time.Sleep(200 * time.Millisecond)
	if n := eceAgain.count("chat.assigned", nil); n != 0 {
		t.Fatalf("Ece, full with a restored chat, was given %d more", n)
	}
}

// When the connection to Redis drops and comes back, what was stored but
// could not be relayed meanwhile reaches the other side without waiting for
// another message. (A Redis of the test's own, so it can be stopped.)
func TestRelayCatchesUpAfterRedisOutage(t *testing.T) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	n := startNode(t, clusterVars(t, "CHAT_REDIS_URL", "redis://"+m.Addr()))
	agent, _ := newAgent(t, n, "Ece", []string{"general"}, 2)
	visitor, _ := newVisitor(t, n)
	chatID := visitor.call(map[string]any{"type": "chat.start", "unit": "general", "text": "hello", "age_confirmed": true}).str("chat_id")
	agent.expect("chat.assigned", nil)

	other, _ := newVisitor(t, n)
	m.Close()
	ack := agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": "stored while the relay was down"})
	// A chat started now is stored, but cannot be queued yet.
	if code := other.callErr(map[string]any{"type": "chat.start", "unit": "general", "text": "anyone?", "age_confirmed": true}); code != "internal" {
		t.Fatalf("start while Redis is away: %s", code)
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	got := visitor.expect("message", func(f frame) bool { return f.num("seq") == ack.num("seq") })
	if got.str("text") != "stored while the relay was down" {
		t.Fatalf("visitor got %v", got)
	}
	// Once Redis is back the stored chat is queued and assigned, without a
	// resend.
	agent.expect("chat.assigned", func(f frame) bool { return f.str("chat_id") != chatID })
}

// Staff frames carry every field PROTOCOL.md lists, empty or not, and the
// visitor's copies carry none of the staff-only ones.
func TestFramesCarryTheirDocumentedFields(t *testing.T) {
	n := startNode(t, clusterVars(t))
	ece := createStaff(t, n, "Ece", "agent", []string{"general"}, 2)
	agent, hello := dialStaff(t, n, ece, true)
	if chats, ok := hello["chats"].([]any); !ok || len(chats) != 0 {
		t.Errorf("agent hello chats = %#v, want []", hello["chats"])
	}
	if _, ok := hello["agent"].(map[string]any); !ok {
		t.Errorf("agent hello without agent: %v", hello)
	}
	visitor, tok := newVisitor(t, n)
	chatID := startChat(t, visitor, "general", "hello")
	got := agent.expect("chat.assigned", func(f frame) bool { return f.str("chat_id") == chatID })
	for _, k := range []string{"chat_id", "unit", "agent", "last_seq", "visitor", "chat", "history", "notes", "last_note"} {
		if _, ok := got[k]; !ok {
			t.Errorf("agent's chat.assigned has no %q: %v", k, got)
		}
	}
	if notes, ok := got["notes"].([]any); !ok || len(notes) != 0 {
		t.Errorf("notes = %#v, want []", got["notes"])
	}
	mine := visitor.expect("chat.assigned", nil)
	for _, k := range []string{"visitor", "chat", "history", "notes", "last_note"} {
		if _, ok := mine[k]; ok {
			t.Errorf("visitor's chat.assigned has staff field %q", k)
		}
	}
	again := dial(t, wsURL(n, "/ws/visitor?token="+tok), nil)
	vh := again.expect("hello", nil)
	for _, k := range []string{"agent", "chats"} {
		if _, ok := vh[k]; ok {
			t.Errorf("visitor hello has staff field %q", k)
		}
	}
}

// A new chat's first message reaches the agent's history and the visitor's
// tab straight from chat.start; it must be exactly what the store gives
// back later.
func TestFirstMessageLiveEqualsStored(t *testing.T) {
	n := startNode(t, clusterVars(t))
	agent, _ := newAgent(t, n, "Ece", []string{"general"}, 2)
	visitor, tok := newVisitor(t, n)
	ack := visitor.call(map[string]any{"type": "chat.start", "unit": "general", "name": " Ayşe ", "text": "kartım 4111 1111 1111 1111 <b>", "age_confirmed": true})
	chatID := ack.str("chat_id")
	assigned := agent.expect("chat.assigned", func(f frame) bool { return f.str("chat_id") == chatID })
	history, _ := assigned["history"].([]any)
	if len(history) != 1 {
		t.Fatalf("history %v", assigned["history"])
	}
	live := visitor.expect("message", bySeq(chatID, 1))

	again := dial(t, wsURL(n, "/ws/visitor?token="+tok), nil)
	again.expect("hello", nil)
	again.send(map[string]any{"type": "resume", "chat_id": chatID, "after_seq": 0})
	stored := again.expect("message", bySeq(chatID, 1))
	for name, got := range map[string]map[string]any{"agent's history": history[0].(map[string]any), "visitor's tab": live} {
		if !reflect.DeepEqual(got, map[string]any(stored)) {
			t.Errorf("%s has %v, the store %v", name, got, stored)
		}
	}
	if !strings.Contains(stored.str("text"), "**** **** **** 1111") {
		t.Errorf("card not masked: %q", stored.str("text"))
	}
}

// A client's ping gets a pong on the same connection, nothing is stored and
// nothing reaches the other side; the browser uses it to find a socket that
// died without a close.
func TestPingPong(t *testing.T) {
	n := startNode(t, clusterVars(t))
	agent, _ := newAgent(t, n, "Ece", []string{"general"}, 2)
	visitor, _ := newVisitor(t, n)
	chatID := visitor.call(map[string]any{"type": "chat.start", "unit": "general", "text": "one", "age_confirmed": true}).str("chat_id")
	agent.expect("chat.assigned", nil)
	visitor.send(map[string]any{"type": "ping"})
	visitor.expect("pong", nil)
	agent.send(map[string]any{"type": "ping"})
	agent.expect("pong", nil)
	agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": "two"})
	visitor.expect("message", func(f frame) bool { return f.num("seq") == 2 })
	if visitor.count("pong", nil) != 1 || agent.count("pong", nil) != 1 || visitor.count("error", nil) != 0 {
		t.Fatalf("pongs: visitor %d, agent %d; visitor errors %d", visitor.count("pong", nil), agent.count("pong", nil), visitor.count("error", nil))
	}
}
