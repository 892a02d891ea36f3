package main

import (
	"testing"
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
