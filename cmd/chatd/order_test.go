package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestCausalOrderOnEverySocket: many widgets open /ws/visitor and send
// chat.start in the same instant, without waiting for hello, as a widget
// does. On every socket hello comes first and describes the moment of
// connecting (no chat yet), and the ack of chat.start comes before
// everything it caused: chat.queued, chat.assigned and the echo of its own
// first message. Half the chats are assigned at once, the rest queue.
func TestCausalOrderOnEverySocket(t *testing.T) {
	t.Parallel()
	vars := clusterVars(t)
	a, b := startNode(t, vars), startNode(t, vars)
	nodes := []*node{a, b}
	const visitors = 40
	for i, n := range nodes {
		newAgent(t, n, fmt.Sprintf("Order%d", i), []string{"technical"}, visitors/4)
	}
	tokens := make([]string, visitors)
	for i := range tokens {
		_, tokens[i] = createVisitor(t, nodes[i%2])
	}
	clients := make([]*wsClient, visitors)
	ids := make([]string, visitors)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range clients {
		ids[i] = uuid.NewString()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			c, err := tryDial(t, wsURL(nodes[i%2], "/ws/visitor?token="+tokens[i]))
			if err != nil {
				t.Errorf("visitor %d: %v", i, err)
				return
			}
			clients[i] = c
			if err := c.trySend(map[string]any{"type": "chat.start", "client_id": ids[i], "unit": "technical", "text": fmt.Sprintf("order %d: the app crashes", i), "age_confirmed": true}); err != nil {
				t.Errorf("visitor %d: %v", i, err)
			}
		}()
	}
	close(gate)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	for i, c := range clients {
		ack := c.reply(ids[i], "ack")
		chatID := ack.str("chat_id")
		// Everything the start caused has arrived: the echo, and either the
		// assignment or the place in the queue.
		if !waitUntil(10*time.Second, func() bool {
			return c.count("message", bySeq(chatID, 1)) > 0 && (c.count("chat.assigned", forChat(chatID)) > 0 || c.count("chat.queued", forChat(chatID)) > 0)
		}) {
			t.Fatalf("visitor %d: never told where chat %s stands: %v", i, chatID, c.all())
		}
		checkCausalOrder(t, fmt.Sprintf("visitor %d", i), c.all(), ids[i], chatID)
	}

	// Then every visitor writes at once: each message's ack precedes its
	// own echo.
	msgIDs := make([]string, visitors)
	chats := make([]string, visitors)
	for i, c := range clients {
		msgIDs[i], chats[i] = uuid.NewString(), c.reply(ids[i], "ack").str("chat_id")
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.trySend(map[string]any{"type": "message", "client_id": msgIDs[i], "chat_id": chats[i], "text": "and one more thing"}); err != nil {
				t.Errorf("visitor %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	for i, c := range clients {
		ack := c.reply(msgIDs[i], "ack")
		echo := c.expect("message", bySeq(chats[i], ack.num("seq")))
		acked := false
		for _, f := range c.all() {
			if f.str("type") == "ack" && f.str("client_id") == msgIDs[i] {
				acked = true
			}
			if f.str("type") == "message" && f.str("chat_id") == chats[i] && f.num("seq") == echo.num("seq") {
				if !acked {
					t.Errorf("visitor %d: the echo of seq %d came before its ack", i, echo.num("seq"))
				}
				break
			}
		}
	}
}

// checkCausalOrder fails unless frames start with a hello that shows no
// chat, and the ack of clientID precedes every frame about chatID.
func checkCausalOrder(t *testing.T, who string, frames []frame, clientID, chatID string) {
	t.Helper()
	if len(frames) == 0 || frames[0].str("type") != "hello" {
		t.Errorf("%s: first frame is not hello: %v", who, frames)
		return
	}
	if ch, ok := frames[0]["chat"]; ok {
		t.Errorf("%s: hello shows a chat made after connecting: %v", who, ch)
	}
	acked := false
	for i, f := range frames {
		if i > 0 && f.str("type") == "hello" {
			t.Errorf("%s: a second hello at %d", who, i)
		}
		if f.str("type") == "ack" && f.str("client_id") == clientID {
			acked = true
			continue
		}
		if f.str("chat_id") == chatID && !acked {
			t.Errorf("%s: %s of chat %s arrived before the ack of chat.start (frames %v)", who, f.str("type"), chatID, frames)
			return
		}
	}
}
