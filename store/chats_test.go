package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store"
	"github.com/chatd/chatd/store/storetest"
)

func newChat(t *testing.T, db *store.DB) (*chat.Visitor, *chat.Chat) {
	t.Helper()
	ctx := context.Background()
	v := &chat.Visitor{}
	if err := db.CreateVisitor(ctx, v); err != nil {
		t.Fatal(err)
	}
	c, outcome, err := db.StartChat(ctx, chat.StartRequest{Who: chat.Principal{VisitorID: v.ID}, ClientID: "c1", Visitor: v, Unit: "general", Text: "hello"})
	if err != nil || outcome != chat.Applied || c.LastSeq != 1 || c.Status != chat.StatusQueued {
		t.Fatalf("start: %+v %v %v", c, outcome, err)
	}
	return v, c
}

func TestStartChatIsIdempotentAndOnePerVisitor(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	v, c := newChat(t, db)
	tests := []struct {
		name, clientID string
		want           chat.Outcome
	}{{"same client_id", "c1", chat.Duplicate}, {"second start", "c2", chat.Refused}}
	for _, tt := range tests {
		got, outcome, err := db.StartChat(ctx, chat.StartRequest{Who: chat.Principal{VisitorID: v.ID}, ClientID: tt.clientID, Visitor: v, Unit: "account", Text: "again"})
		if err != nil || outcome != tt.want || got.ID != c.ID {
			t.Fatalf("%s: got %+v outcome=%v err=%v, want the open chat and %v", tt.name, got, outcome, err, tt.want)
		}
	}
	msgs, err := db.Messages(ctx, c.ID, chat.KindMessage, 0, 0)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "hello" || msgs[0].Seq != 1 {
		t.Fatalf("messages: %+v %v", msgs, err)
	}
}

func TestAppendBatch(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	v, c := newChat(t, db)
	other, _ := newChat(t, db)
	agent := &chat.Agent{Email: "a@x.io", Name: "A", PasswordHash: "x", Role: chat.RoleAgent, Units: []string{"general"}, MaxChats: 2}
	if err := db.CreateAgent(ctx, agent); err != nil {
		t.Fatal(err)
	}
	vis := func(id, text string) chat.AppendRequest {
		return chat.AppendRequest{Who: chat.Principal{VisitorID: v.ID}, ClientID: id, ChatID: c.ID, Kind: chat.KindMessage,
			From: chat.Sender{Kind: chat.FromVisitor, ID: v.ID}, Text: text}
	}
	ag := func(id, kind string) chat.AppendRequest {
		return chat.AppendRequest{Who: chat.Principal{Agent: agent}, ClientID: id, ChatID: c.ID, Kind: kind,
			From: chat.Sender{Kind: chat.FromAgent, ID: agent.ID}, Text: "x"}
	}
	intruder := vis("m9", "x")
	intruder.Who = chat.Principal{VisitorID: other.ID}

	res := db.AppendBatch(ctx, []chat.AppendRequest{vis("m1", "a"), vis("m2", "b"), vis("m1", "a"), ag("n1", chat.KindNote), ag("x1", chat.KindMessage), intruder})
	want := []struct {
		seq  int64
		dup  bool
		code string
	}{{2, false, ""}, {3, false, ""}, {2, true, ""}, {0, false, chat.ENotAssigned}, {0, false, chat.ENotAssigned}, {0, false, chat.ENotFound}}
	for i, w := range want {
		r := res[i]
		if w.code != "" {
			if chat.ErrorCode(r.Err) != w.code {
				t.Errorf("#%d: err %v, want %s", i, r.Err, w.code)
			}
			continue
		}
		if r.Err != nil || r.Message.Seq != w.seq || r.Duplicate != w.dup {
			t.Errorf("#%d: %+v, want seq %d dup %v", i, r, w.seq, w.dup)
		}
	}
	// A resend in a later batch gets the same seq and stores nothing.
	if r := db.AppendBatch(ctx, []chat.AppendRequest{vis("m2", "b")})[0]; !r.Duplicate || r.Message.Seq != 3 {
		t.Fatalf("resend: %+v", r)
	}
	// Someone else's client_id is not a resend: an outsider learns nothing.
	copycat := vis("m2", "b")
	copycat.Who, copycat.From.ID = chat.Principal{VisitorID: other.ID}, other.ID
	if r := db.AppendBatch(ctx, []chat.AppendRequest{copycat})[0]; chat.ErrorCode(r.Err) != chat.ENotFound || r.Duplicate {
		t.Fatalf("another visitor reusing a client_id: %+v", r)
	}
	aid := agent.ID
	if _, ok, err := db.Transit(ctx, chat.Transition{ChatID: c.ID, From: []string{chat.StatusQueued}, To: chat.StatusActive, AgentID: &aid}); ok != chat.Applied || err != nil {
		t.Fatalf("assign: %v %v", ok, err)
	}
	if r := db.AppendBatch(ctx, []chat.AppendRequest{ag("m1", chat.KindMessage)})[0]; chat.ErrorCode(r.Err) != chat.EConflict {
		t.Fatalf("agent reusing the visitor's client_id: %+v", r)
	}
	res = db.AppendBatch(ctx, []chat.AppendRequest{ag("x2", chat.KindMessage), ag("n2", chat.KindNote)})
	if r := res[0]; r.Err != nil || r.Message.Seq != 4 {
		t.Fatalf("agent message: %+v", r)
	}
	if r := res[1]; r.Err != nil || r.Message.Seq != 1 || r.Message.Kind != chat.KindNote {
		t.Fatalf("agent note: %+v", r)
	}
	if _, ok, err := db.Transit(ctx, chat.Transition{Who: chat.Principal{VisitorID: v.ID}, ClientID: "close", ChatID: c.ID, From: []string{chat.StatusQueued, chat.StatusActive}, To: chat.StatusClosed, Reason: "visitor"}); ok != chat.Applied || err != nil {
		t.Fatalf("close: %v %v", ok, err)
	}
	if r := db.AppendBatch(ctx, []chat.AppendRequest{vis("m3", "late")})[0]; chat.ErrorCode(r.Err) != chat.EChatClosed {
		t.Fatalf("message to closed chat: %+v", r)
	}
	msgs, _ := db.Messages(ctx, c.ID, chat.KindMessage, 0, 0)
	for i, m := range msgs {
		if m.Seq != int64(i+1) {
			t.Fatalf("gap at %d: %+v", i, msgs)
		}
	}
	if len(msgs) != 4 {
		t.Fatalf("%d messages stored, want 4", len(msgs))
	}
}

// Concurrent batches on one chat, as from several nodes, never leave a gap
// or reuse a seq.
func TestAppendConcurrentGapless(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	v, c := newChat(t, db)
	const writers, each = 8, 25
	var wg sync.WaitGroup
	seqs := make(chan int64, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				r := db.AppendBatch(ctx, []chat.AppendRequest{{Who: chat.Principal{VisitorID: v.ID}, ClientID: fmt.Sprintf("%d-%d", w, i), ChatID: c.ID,
					Kind: chat.KindMessage, From: chat.Sender{Kind: chat.FromVisitor, ID: v.ID}, Text: "x"}})[0]
				if r.Err != nil {
					t.Error(r.Err)
					return
				}
				seqs <- r.Message.Seq
			}
		})
	}
	wg.Wait()
	close(seqs)
	seen := map[int64]bool{}
	for s := range seqs {
		if seen[s] {
			t.Fatalf("seq %d given twice", s)
		}
		seen[s] = true
	}
	msgs, _ := db.Messages(ctx, c.ID, chat.KindMessage, 0, 0)
	if len(msgs) != writers*each+1 || msgs[len(msgs)-1].Seq != int64(len(msgs)) {
		t.Fatalf("%d messages, last seq %d", len(msgs), msgs[len(msgs)-1].Seq)
	}
}

// A message the database refuses (PostgreSQL stores no NUL character) fails
// alone: the rest of its batch is stored, gapless, in order.
func TestAppendBatchIsolatesARefusedMessage(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	v, c := newChat(t, db)
	vis := func(id, text string) chat.AppendRequest {
		return chat.AppendRequest{Who: chat.Principal{VisitorID: v.ID}, ClientID: id, ChatID: c.ID, Kind: chat.KindMessage,
			From: chat.Sender{Kind: chat.FromVisitor, ID: v.ID}, Text: text}
	}
	res := db.AppendBatch(ctx, []chat.AppendRequest{vis("m1", "before"), vis("m2", "bad\x00"), vis("m3", "after")})
	if res[0].Err != nil || res[2].Err != nil {
		t.Fatalf("neighbours failed: %+v", res)
	}
	stored := 3
	if res[1].Err != nil {
		stored = 2
	}
	msgs, err := db.Messages(ctx, c.ID, chat.KindMessage, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != stored+1 {
		t.Fatalf("%d messages, want %d", len(msgs), stored+1)
	}
	for i, m := range msgs {
		if m.Seq != int64(i+1) {
			t.Fatalf("gap at %d: %+v", i, msgs)
		}
	}
	if msgs[len(msgs)-1].Text != "after" {
		t.Fatalf("last message %+v", msgs[len(msgs)-1])
	}
}
