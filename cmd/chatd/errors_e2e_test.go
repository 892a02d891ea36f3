package main

import (
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// TestIllegalFramesChangeNothing sends every kind of illegal transition and
// bad input; each gets its coded error frame (with the client_id as ref),
// the socket stays open, and nothing changes for anyone.
func TestIllegalFramesChangeNothing(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t, "CHAT_MAX_MESSAGE_BYTES", "64")
	a, b := startNode(t, vars), startNode(t, vars)

	ece := createStaff(t, a, "Ece", "agent", []string{"technical"}, 1)
	ali := createStaff(t, b, "Ali", "agent", []string{"technical"}, 1)
	fin := createStaff(t, b, "Fin", "agent", []string{"financial"}, 1)
	agentEce, _ := dialStaff(t, a, ece, true)
	agentAli, _ := dialStaff(t, b, ali, false) // not online yet
	agentFin, _ := dialStaff(t, b, fin, true)

	_, tokA := createVisitor(t, a)
	visitor, _ := dialVisitor(t, a, tokA)
	active := startChat(t, visitor, "technical", "the app crashes")
	agentEce.expect("chat.assigned", forChat(active))
	visitor.expect("chat.assigned", forChat(active))

	_, tokB := createVisitor(t, b)
	waiting, _ := dialVisitor(t, b, tokB)
	queued := startChat(t, waiting, "technical", "page is broken") // Ece is full: it waits
	waiting.expect("chat.queued", forChat(queued))

	_, tokC := createVisitor(t, a)
	closer, _ := dialVisitor(t, a, tokC)
	closedChat := startChat(t, closer, "financial", "refund please")
	agentFin.expect("chat.assigned", forChat(closedChat))
	closer.call(map[string]any{"type": "chat.close", "chat_id": closedChat})
	agentFin.expect("chat.closed", forChat(closedChat))

	agentAli.call(map[string]any{"type": "presence", "status": "online"}) // online, but full below
	// Ali takes the queued chat, so it is "another agent's chat" for Ece
	// and Ali is full for transfers.
	agentAli.expect("chat.assigned", forChat(queued))
	waiting.expect("chat.assigned", forChat(queued))
	// A new waiting chat, for "agent message to a queued chat".
	_, tokD := createVisitor(t, b)
	third, _ := dialVisitor(t, b, tokD)
	stillQueued := startChat(t, third, "technical", "cannot install the update")
	third.expect("chat.queued", forChat(stillQueued))

	long := strings.Repeat("é", 33) // 66 bytes > 64
	tests := []struct {
		name  string
		c     *wsClient
		frame map[string]any
		want  string
	}{
		{"visitor message to a closed chat", closer, map[string]any{"type": "message", "chat_id": closedChat, "text": "hi"}, "chat_closed"},
		{"visitor closes a closed chat", closer, map[string]any{"type": "chat.close", "chat_id": closedChat}, "chat_closed"},
		{"agent message to a closed chat", agentFin, map[string]any{"type": "message", "chat_id": closedChat, "text": "hi"}, "chat_closed"},
		{"agent closes a closed chat", agentFin, map[string]any{"type": "chat.close", "chat_id": closedChat}, "chat_closed"},
		{"agent transfers a closed chat", agentFin, map[string]any{"type": "chat.transfer", "chat_id": closedChat, "unit": "general"}, "chat_closed"},
		{"agent escalates a closed chat", agentFin, map[string]any{"type": "chat.escalate", "chat_id": closedChat}, "chat_closed"},
		{"agent message to a queued chat", agentEce, map[string]any{"type": "message", "chat_id": stillQueued, "text": "hi"}, "not_assigned"},
		{"visitor message to another visitor's chat", closer, map[string]any{"type": "message", "chat_id": active, "text": "hi"}, "not_found"},
		{"visitor closes another visitor's chat", closer, map[string]any{"type": "chat.close", "chat_id": active}, "not_found"},
		{"visitor rates another visitor's chat", closer, map[string]any{"type": "csat", "chat_id": active, "rating": 5}, "not_found"},
		{"message to an unknown chat", visitor, map[string]any{"type": "message", "chat_id": uuid.NewString(), "text": "hi"}, "not_found"},
		{"agent message to another agent's chat", agentEce, map[string]any{"type": "message", "chat_id": queued, "text": "mine now"}, "not_assigned"},
		{"agent note on another agent's chat", agentEce, map[string]any{"type": "note", "chat_id": queued, "text": "x"}, "not_assigned"},
		{"agent closes another agent's chat", agentEce, map[string]any{"type": "chat.close", "chat_id": queued}, "not_assigned"},
		{"agent transfers another agent's chat", agentEce, map[string]any{"type": "chat.transfer", "chat_id": queued, "unit": "general"}, "not_assigned"},
		{"agent escalates another agent's chat", agentEce, map[string]any{"type": "chat.escalate", "chat_id": queued}, "not_assigned"},
		{"agent of another unit writes", agentFin, map[string]any{"type": "message", "chat_id": active, "text": "hi"}, "not_found"},
		{"agent of another unit closes", agentFin, map[string]any{"type": "chat.close", "chat_id": active}, "not_found"},
		{"chat.start without age_confirmed", closer, map[string]any{"type": "chat.start", "text": "hi"}, "age_confirmation_required"},
		{"chat.start with age_confirmed false", closer, map[string]any{"type": "chat.start", "text": "hi", "age_confirmed": false}, "age_confirmation_required"},
		{"chat.start with age_confirmed as a string", closer, map[string]any{"type": "chat.start", "text": "hi", "age_confirmed": "true"}, "invalid_request"},
		{"message with a numeric chat_id", visitor, map[string]any{"type": "message", "chat_id": 42, "text": "hi"}, "invalid_request"},
		{"csat with a textual rating", closer, map[string]any{"type": "csat", "chat_id": closedChat, "rating": "5"}, "invalid_request"},
		{"message with a NUL character", visitor, map[string]any{"type": "message", "chat_id": active, "text": "bad\x00"}, "invalid_request"},
		{"chat.start with a NUL in the name", closer, map[string]any{"type": "chat.start", "text": "hi", "name": "N\x00", "age_confirmed": true}, "invalid_request"},
		{"chat.start in an unknown unit", closer, map[string]any{"type": "chat.start", "unit": "sales", "text": "hi", "age_confirmed": true}, "unknown_unit"},
		{"chat.start too large", closer, map[string]any{"type": "chat.start", "text": long, "age_confirmed": true}, "message_too_large"},
		{"chat.start with empty text", closer, map[string]any{"type": "chat.start", "text": "  ", "age_confirmed": true}, "invalid_request"},
		{"message too large", visitor, map[string]any{"type": "message", "chat_id": active, "text": long}, "message_too_large"},
		{"agent message too large", agentEce, map[string]any{"type": "message", "chat_id": active, "text": long}, "message_too_large"},
		{"empty message", visitor, map[string]any{"type": "message", "chat_id": active, "text": ""}, "invalid_request"},
		{"blank message", visitor, map[string]any{"type": "message", "chat_id": active, "text": " \n\t"}, "invalid_request"},
		{"message without chat_id", visitor, map[string]any{"type": "message", "text": "hi"}, "invalid_request"},
		{"message without client_id", visitor, map[string]any{"type": "message", "chat_id": active, "text": "hi", "client_id": ""}, "missing_client_id"},
		{"message with a client_id that is no UUID", visitor, map[string]any{"type": "message", "chat_id": active, "text": "hi", "client_id": "c1"}, "missing_client_id"},
		{"close with a client_id that is no UUID", visitor, map[string]any{"type": "chat.close", "chat_id": active, "client_id": "not-a-uuid"}, "missing_client_id"},
		{"unknown type", visitor, map[string]any{"type": "chat.reopen", "chat_id": active}, "unknown_type"},
		{"visitor sends presence", visitor, map[string]any{"type": "presence", "status": "online"}, "forbidden"},
		{"visitor sends a note", visitor, map[string]any{"type": "note", "chat_id": active, "text": "psst"}, "forbidden"},
		{"visitor transfers", visitor, map[string]any{"type": "chat.transfer", "chat_id": active, "unit": "general"}, "forbidden"},
		{"visitor escalates", visitor, map[string]any{"type": "chat.escalate", "chat_id": active}, "forbidden"},
		{"agent starts a chat", agentEce, map[string]any{"type": "chat.start", "text": "hi", "age_confirmed": true}, "forbidden"},
		{"agent sends csat", agentEce, map[string]any{"type": "csat", "chat_id": active, "rating": 5}, "forbidden"},
		{"csat rating 0", closer, map[string]any{"type": "csat", "chat_id": closedChat, "rating": 0}, "invalid_rating"},
		{"csat rating 6", closer, map[string]any{"type": "csat", "chat_id": closedChat, "rating": 6}, "invalid_rating"},
		{"csat without rating", closer, map[string]any{"type": "csat", "chat_id": closedChat}, "invalid_rating"},
		{"presence with a bad status", agentEce, map[string]any{"type": "presence", "status": "busy"}, "invalid_status"},
		{"transfer with nothing to change", agentEce, map[string]any{"type": "chat.transfer", "chat_id": active}, "invalid_request"},
		{"transfer to the same unit", agentEce, map[string]any{"type": "chat.transfer", "chat_id": active, "unit": "technical"}, "invalid_request"},
		{"transfer to oneself", agentEce, map[string]any{"type": "chat.transfer", "chat_id": active, "agent_id": ece.id}, "invalid_request"},
		{"transfer to an unknown unit", agentEce, map[string]any{"type": "chat.transfer", "chat_id": active, "unit": "sales"}, "unknown_unit"},
		{"transfer to a full agent", agentEce, map[string]any{"type": "chat.transfer", "chat_id": active, "agent_id": ali.id}, "agent_full"},
		{"transfer to an agent of another unit", agentEce, map[string]any{"type": "chat.transfer", "chat_id": active, "agent_id": fin.id}, "agent_unavailable"},
		{"transfer to an unknown agent", agentEce, map[string]any{"type": "chat.transfer", "chat_id": active, "agent_id": uuid.NewString()}, "agent_unavailable"},
	}
	for _, tt := range tests {
		if got := tt.c.callErr(tt.frame); got != tt.want {
			t.Errorf("%s: error %q, want %q", tt.name, got, tt.want)
		}
		if !tt.c.isOpen() {
			t.Fatalf("%s: the connection was closed after the error frame", tt.name)
		}
	}

	// Frames without a client_id: the error has no ref.
	for _, tt := range []struct {
		name, raw, want string
	}{
		{"non-JSON frame", "hello?", "bad_frame"},
		{"JSON that is not an object", "[1,2,3]", "bad_frame"},
		{"frame without a type", `{"chat_id":"x"}`, "bad_frame"},
		{"unknown type without client_id", `{"type":"bogus"}`, "unknown_type"},
		{"message without client_id field", `{"type":"message","chat_id":"` + active + `","text":"hi"}`, "missing_client_id"},
	} {
		before := len(visitor.all())
		if err := visitor.sendRaw(websocket.MessageText, []byte(tt.raw)); err != nil {
			t.Fatal(err)
		}
		var got frame
		waitUntil(5*time.Second, func() bool {
			for _, f := range visitor.all()[before:] {
				if f.str("type") == "error" {
					got = f
					return true
				}
			}
			return false
		})
		if got == nil || got.str("code") != tt.want || got.str("ref") != "" {
			t.Errorf("%s: got %v, want an error %s without ref", tt.name, got, tt.want)
		}
		if !visitor.isOpen() {
			t.Fatalf("%s: the connection was closed after the error frame", tt.name)
		}
	}

	// Offline agent: Ali goes offline, then a transfer to him is refused.
	agentAli.call(map[string]any{"type": "presence", "status": "offline"})
	if code := agentEce.callErr(map[string]any{"type": "chat.transfer", "chat_id": active, "agent_id": ali.id}); code != "agent_unavailable" {
		t.Errorf("transfer to an offline agent: %s, want agent_unavailable", code)
	}
	agentAli.call(map[string]any{"type": "presence", "status": "away"})
	if code := agentEce.callErr(map[string]any{"type": "chat.transfer", "chat_id": active, "agent_id": ali.id}); code != "agent_unavailable" {
		t.Errorf("transfer to an away agent: %s, want agent_unavailable", code)
	}

	// Nothing changed: every chat takes its next seq, nobody got strays.
	if ack := visitor.call(map[string]any{"type": "message", "chat_id": active, "text": "ok"}); ack.num("seq") != 2 {
		t.Errorf("active chat's next message has seq %d, want 2", ack.num("seq"))
	}
	if ack := agentEce.call(map[string]any{"type": "message", "chat_id": active, "text": "still mine"}); ack.num("seq") != 3 {
		t.Errorf("agent's next message has seq %d, want 3 (the chat must still be Ece's)", ack.num("seq"))
	}
	if ack := agentAli.call(map[string]any{"type": "message", "chat_id": queued, "text": "still mine"}); ack.num("seq") != 2 {
		t.Errorf("Ali's chat next seq %d, want 2", ack.num("seq"))
	}
	if ack := third.call(map[string]any{"type": "message", "chat_id": stillQueued, "text": "waiting"}); ack.num("seq") != 2 {
		t.Errorf("queued chat next seq %d, want 2", ack.num("seq"))
	}
	// The refused chat.start made no chat: a new one is created, not "existing".
	if ack := closer.call(map[string]any{"type": "chat.start", "unit": "general", "text": "new question", "age_confirmed": true}); ack["existing"] == true {
		t.Errorf("a refused chat.start left a chat behind: %v", ack)
	}
	visitor.waitSeqs(active, 3)
	agentEce.waitSeqs(active, 3)
	time.Sleep(200 * time.Millisecond)
	checkSeqs(t, "visitor", visitor, active, 1, 3)
	checkSeqs(t, "Ece", agentWithHistory(agentEce, active), active, 1, 3)
	for name, c := range map[string]*wsClient{"visitor": visitor, "waiting": waiting, "third": third, "Ece": agentEce, "Ali": agentAli} {
		if n := c.count("chat.closed", nil); n != 0 {
			t.Errorf("%s got chat.closed: %v", name, c.matching("chat.closed", nil))
		}
		if n := c.count("chat.transferred", nil); n != 0 {
			t.Errorf("%s got chat.transferred: %v", name, c.matching("chat.transferred", nil))
		}
		if n := c.count("chat.escalated", nil); n != 0 {
			t.Errorf("%s got chat.escalated", name)
		}
	}
	for name, c := range map[string]*wsClient{"visitor": visitor, "closer": closer, "waiting": waiting} {
		if n := c.count("note", nil); n != 0 {
			t.Errorf("visitor %s received a note", name)
		}
	}
	if n := agentEce.count("note", nil); n != 0 {
		t.Errorf("a refused note reached Ece: %v", agentEce.matching("note", nil))
	}
	if n := closer.count("message", forChat(active)); n != 0 {
		t.Errorf("another visitor received %d messages of a chat not theirs", n)
	}
}

// TestNoPeekingAtOtherChats: resume, typing and read on a chat that is not
// one's own are refused and deliver nothing.
func TestNoPeekingAtOtherChats(t *testing.T) {
	t.Parallel()
	n := startNode(t, clusterVars(t))
	agent, _ := newAgent(t, n, "Ece", []string{"account"}, 2)
	owner, _ := newVisitor(t, n)
	chatID := startChat(t, owner, "account", "hesabım kilitlendi")
	agent.expect("chat.assigned", forChat(chatID))
	other, _ := newVisitor(t, n)
	outsider, _ := newAgent(t, n, "Out", []string{"financial"}, 2)

	other.send(map[string]any{"type": "resume", "chat_id": chatID, "after_seq": 0})
	if f := other.nextErr(); f.str("code") != "not_found" {
		t.Errorf("resume of another visitor's chat: %v", f)
	}
	other.send(map[string]any{"type": "typing", "chat_id": chatID, "on": true})
	if f := other.nextErr(); f.str("code") != "not_found" {
		t.Errorf("typing in another visitor's chat: %v", f)
	}
	other.send(map[string]any{"type": "read", "chat_id": chatID, "seq": 1})
	if f := other.nextErr(); f.str("code") != "not_found" {
		t.Errorf("read in another visitor's chat: %v", f)
	}
	outsider.send(map[string]any{"type": "resume", "chat_id": chatID, "after_seq": 0})
	if f := outsider.nextErr(); f.str("code") != "not_found" {
		t.Errorf("resume of another unit's chat: %v", f)
	}
	agent.call(map[string]any{"type": "message", "chat_id": chatID, "text": "secret answer"})
	owner.waitSeqs(chatID, 2)
	time.Sleep(300 * time.Millisecond)
	for name, c := range map[string]*wsClient{"other visitor": other, "other unit's agent": outsider} {
		if n := c.count("message", forChat(chatID)); n != 0 {
			t.Errorf("%s received %d messages of the chat", name, n)
		}
	}
	if n := agent.count("typing", nil) + agent.count("read", nil); n != 0 {
		t.Errorf("refused typing/read reached the agent: %v", agent.all())
	}
}

// TestTypingAndReadGoToTheOtherSide: typing and read receipts are relayed
// to the chat's other side (all its tabs), not echoed to the sender.
func TestTypingAndReadGoToTheOtherSide(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	a, b := startNode(t, vars), startNode(t, vars)
	agent, agentID := newAgent(t, b, "Ece", []string{"technical"}, 2)
	visitor, _ := newVisitor(t, a)
	chatID := startChat(t, visitor, "technical", "error 500")
	agent.expect("chat.assigned", forChat(chatID))
	visitor.expect("chat.assigned", forChat(chatID))

	visitor.send(map[string]any{"type": "typing", "chat_id": chatID, "on": true})
	tf := agent.expect("typing", forChat(chatID))
	if tf["on"] != true || tf["from"].(map[string]any)["kind"] != "visitor" {
		t.Errorf("agent got typing %v", tf)
	}
	agent.send(map[string]any{"type": "read", "chat_id": chatID, "seq": 1})
	rf := visitor.expect("read", forChat(chatID))
	if rf.num("seq") != 1 || rf["from"].(map[string]any)["id"] != agentID {
		t.Errorf("visitor got read %v", rf)
	}
	agent.send(map[string]any{"type": "typing", "chat_id": chatID, "on": false})
	visitor.expect("typing", func(f frame) bool { return f["on"] == false })
	time.Sleep(200 * time.Millisecond)
	if n := visitor.count("typing", func(f frame) bool { return f["from"].(map[string]any)["kind"] == "visitor" }); n != 0 {
		t.Errorf("the visitor's own typing was echoed back to them %d time(s)", n)
	}
	if n := agent.count("typing", func(f frame) bool { return f["from"].(map[string]any)["kind"] == "agent" }) +
		agent.count("read", func(f frame) bool { return f["from"].(map[string]any)["kind"] == "agent" }); n != 0 {
		t.Errorf("the agent's own typing/read was echoed back %d time(s)", n)
	}
	// read with a bad seq is refused.
	visitor.send(map[string]any{"type": "read", "chat_id": chatID, "seq": 0})
	if f := visitor.nextErr(); f.str("code") != "invalid_request" {
		t.Errorf("read with seq 0: %v", f)
	}
}
