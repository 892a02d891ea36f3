package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store"
	"github.com/chatd/chatd/store/storetest"
)

// activate gives a new chat to an agent.
func activate(t *testing.T, db *store.DB, c *chat.Chat) *chat.Agent {
	t.Helper()
	a := &chat.Agent{Email: "a-" + c.ID[:8] + "@example.com", Name: "Ece", PasswordHash: "x", Role: chat.RoleAgent, Units: []string{"general"}, MaxChats: 5}
	if err := db.CreateAgent(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	id := a.ID
	if _, _, o, err := db.Assign(context.Background(), chat.Transition{ChatID: c.ID, From: chat.OpenStates, To: chat.StatusActive, AgentID: &id}); err != nil || o != chat.Applied {
		t.Fatalf("assign: %v %v", o, err)
	}
	return a
}

// TestEscalateHoldsEveryMessage: messages stored while a chat escalates
// are either in the ticket's transcript or refused as chat_closed; the
// transcript and the chat's sequence agree.
func TestEscalateHoldsEveryMessage(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	for round := range 12 {
		v, c := newChat(t, db)
		agent := activate(t, db, c)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		var mu sync.Mutex
		var stored []int64
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 500; i++ {
					r := db.AppendBatch(ctx, []chat.AppendRequest{{Who: chat.Principal{VisitorID: v.ID}, ClientID: fmt.Sprintf("%d-%d-%d", round, w, i),
						ChatID: c.ID, Kind: chat.KindMessage, From: chat.Sender{Kind: chat.FromVisitor, ID: v.ID}, Text: "still typing"}})[0]
					if r.Err != nil {
						if chat.ErrorCode(r.Err) != chat.EChatClosed {
							t.Errorf("append: %v", r.Err)
						}
						return
					}
					mu.Lock()
					stored = append(stored, r.Message.Seq)
					mu.Unlock()
					select {
					case <-stop:
						return
					default:
					}
				}
			}()
		}
		time.Sleep(time.Duration(round%4) * time.Millisecond)
		var rendered []chat.Message
		done, outcome, err := db.Escalate(ctx, chat.Escalation{Who: chat.Principal{Agent: agent}, ChatID: c.ID, By: chat.Sender{Kind: chat.FromAgent, ID: agent.ID}},
			func(_ *chat.Chat, msgs []chat.Message) (string, string) {
				rendered = msgs
				return "subject", fmt.Sprintf("%d messages", len(msgs))
			})
		close(stop)
		wg.Wait()
		if err != nil || outcome != chat.Applied || done.Status != chat.StatusEscalated || done.TicketID == "" {
			t.Fatalf("escalate: %+v %v %v", done, outcome, err)
		}
		final, err := db.Chat(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(rendered)) != final.LastSeq {
			t.Fatalf("round %d: the transcript holds %d messages, the chat %d", round, len(rendered), final.LastSeq)
		}
		for _, s := range stored {
			if s > int64(len(rendered)) {
				t.Fatalf("round %d: message %d was acknowledged but is not in the ticket (%d messages)", round, s, len(rendered))
			}
		}
	}
}

// TestPurgeDeletesOnlyWhatIsPast: finished chats past the cutoff go with
// their messages; newer finished chats, open chats and open tickets stay.
func TestPurgeDeletesOnlyWhatIsPast(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	finish := func(c *chat.Chat) {
		t.Helper()
		if _, o, err := db.Transit(ctx, chat.Transition{ChatID: c.ID, From: chat.OpenStates, To: chat.StatusClosed, Reason: "agent_closed"}); err != nil || o != chat.Applied {
			t.Fatalf("close: %v %v", o, err)
		}
	}
	_, oldClosed := newChat(t, db)
	finish(oldClosed)
	_, oldEscalated := newChat(t, db)
	agent := activate(t, db, oldEscalated)
	esc, _, err := db.Escalate(ctx, chat.Escalation{Who: chat.Principal{Agent: agent}, ChatID: oldEscalated.ID, By: chat.Sender{Kind: chat.FromAgent, ID: agent.ID}},
		func(*chat.Chat, []chat.Message) (string, string) { return "s", "t" })
	if err != nil {
		t.Fatal(err)
	}
	_, oldOpen := newChat(t, db)
	time.Sleep(5 * time.Millisecond)
	cutoff := time.Now()
	time.Sleep(5 * time.Millisecond)
	_, newClosed := newChat(t, db)
	finish(newClosed)

	res, err := db.Purge(ctx, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if res.Chats != 2 || res.Tickets != 0 {
		t.Fatalf("purged %+v, want 2 chats and no ticket (the escalated chat's ticket is open)", res)
	}
	for _, gone := range []*chat.Chat{oldClosed, oldEscalated} {
		if _, err := db.Chat(ctx, gone.ID); chat.ErrorCode(err) != chat.ENotFound {
			t.Errorf("chat %s past the cutoff is still there: %v", gone.ID, err)
		}
		if msgs, err := db.Messages(ctx, gone.ID, chat.KindMessage, 0, 0); err != nil || len(msgs) != 0 {
			t.Errorf("chat %s's messages: %d left, %v", gone.ID, len(msgs), err)
		}
	}
	for _, kept := range []*chat.Chat{oldOpen, newClosed} {
		if _, err := db.Chat(ctx, kept.ID); err != nil {
			t.Errorf("chat %s should stay: %v", kept.ID, err)
		}
		if msgs, err := db.Messages(ctx, kept.ID, chat.KindMessage, 0, 0); err != nil || len(msgs) != 1 {
			t.Errorf("chat %s's messages: %d, %v; want its one", kept.ID, len(msgs), err)
		}
	}
	if n, err := db.CountTickets(ctx); err != nil || n != 1 {
		t.Errorf("tickets after purge: %d %v; want the open one (%s)", n, err, esc.TicketID)
	}
	log, err := db.AuditLog(ctx, 10, "")
	if err != nil || len(log) != 1 || log[0].Action != "purge" || !strings.Contains(log[0].Detail, "chats=2") {
		t.Fatalf("audit: %+v %v", log, err)
	}
}

func TestAssignmentRecords(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	_, c := newChat(t, db)
	at := time.UnixMilli(time.Now().UnixMilli()).UTC()
	recs := []chat.AssignmentRecord{
		{ChatID: c.ID, At: at, Kind: chat.RecordAssigned, Unit: "general", AgentID: "a1", Rule: "lowest_load", WaitedMS: 1200,
			Candidates: []chat.Candidate{{AgentID: "a1", Load: 0, Max: 2, Chosen: true}, {AgentID: "a2", Load: 1, Max: 2}}},
		{ChatID: c.ID, At: at.Add(time.Second), Kind: chat.RecordTransferred, Unit: "account", FromAgentID: "a1", Rule: "transfer", ByKind: "agent", ByID: "a1"},
	}
	if err := db.RecordAssignments(ctx, recs); err != nil {
		t.Fatal(err)
	}
	got, err := db.Assignments(ctx, c.ID)
	if err != nil || len(got) != 2 {
		t.Fatalf("assignments: %+v %v", got, err)
	}
	if g := got[0]; g.Kind != chat.RecordAssigned || !g.At.Equal(at) || g.WaitedMS != 1200 || len(g.Candidates) != 2 || !g.Candidates[0].Chosen || g.Candidates[1].Load != 1 {
		t.Errorf("first record %+v", g)
	}
	if g := got[1]; g.Kind != chat.RecordTransferred || g.FromAgentID != "a1" || g.ByID != "a1" || g.Candidates == nil {
		t.Errorf("second record %+v", g)
	}
}

// A move's records are stored with the move, in one statement on
// PostgreSQL and one transaction on SQLite, and only when the move
// applies.
func TestTransitionsStoreTheirRecords(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	_, c := newChat(t, db)
	a := &chat.Agent{Email: "r-" + c.ID[:8] + "@example.com", Name: "Ece", PasswordHash: "x", Role: chat.RoleAgent, Units: []string{"general"}, MaxChats: 5}
	if err := db.CreateAgent(ctx, a); err != nil {
		t.Fatal(err)
	}
	id := a.ID
	free := time.UnixMilli(1_700_000_000_000).UTC()
	assigned := chat.AssignmentRecord{Kind: chat.RecordAssigned, Unit: "general", AgentID: id, Rule: "lowest_load", WaitedMS: 700,
		Candidates: []chat.Candidate{{AgentID: id, Load: 0, Max: 5, FreeSince: &free, Chosen: true}}}
	moved, v, o, err := db.Assign(ctx, chat.Transition{ChatID: c.ID, From: []string{chat.StatusQueued}, To: chat.StatusActive, AgentID: &id,
		Records: []chat.AssignmentRecord{assigned}})
	if err != nil || o != chat.Applied || moved.AgentID != id || v == nil || v.ID != c.VisitorID {
		t.Fatalf("assign: %+v %+v %v %v", moved, v, o, err)
	}
	// Refused (not queued any more): nothing is recorded.
	if _, _, o, err := db.Assign(ctx, chat.Transition{ChatID: c.ID, From: []string{chat.StatusQueued}, To: chat.StatusActive, AgentID: &id,
		Records: []chat.AssignmentRecord{assigned}}); err != nil || o != chat.Refused {
		t.Fatalf("second assign: %v %v", o, err)
	}
	// A staff transfer with its client_id, and two records at once.
	none := ""
	who := chat.Principal{Agent: a}
	if _, o, err := db.Transit(ctx, chat.Transition{Who: who, ClientID: "t1", ChatID: c.ID, From: chat.OpenStates, To: chat.StatusQueued, AgentID: &none, Unit: "account",
		Records: []chat.AssignmentRecord{
			{Kind: chat.RecordTransferred, Unit: "account", FromAgentID: id, Rule: "transfer", ByKind: who.Kind(), ByID: id},
			{Kind: chat.RecordRequeued, Unit: "account", FromAgentID: id, Rule: "transfer"},
		}}); err != nil || o != chat.Applied {
		t.Fatalf("transfer: %v %v", o, err)
	}
	got, err := db.Assignments(ctx, c.ID)
	if err != nil || len(got) != 3 {
		t.Fatalf("records %+v %v", got, err)
	}
	if g := got[0]; g.Kind != chat.RecordAssigned || g.ChatID != c.ID || g.WaitedMS != 700 || len(g.Candidates) != 1 || !g.Candidates[0].FreeSince.Equal(free) || g.At.IsZero() {
		t.Errorf("assigned record %+v", g)
	}
	if got[1].Kind != chat.RecordTransferred || got[1].ByID != id || got[2].Kind != chat.RecordRequeued || got[1].Unit != "account" {
		t.Errorf("transfer records, in their order: %+v", got[1:])
	}

	// The first response: nothing from staff yet, then an answer.
	since := time.Now().Add(-time.Second)
	if ok, err := db.Answered(ctx, c.ID, since); err != nil || ok {
		t.Fatalf("answered before any reply: %v %v", ok, err)
	}
	if ok, err := db.AwaitsAnswer(ctx, c.ID); err != nil || !ok {
		t.Fatalf("awaits answer with only the visitor's message: %v %v", ok, err)
	}
	if _, _, o, err := db.Assign(ctx, chat.Transition{ChatID: c.ID, From: chat.OpenStates, To: chat.StatusActive, AgentID: &id}); err != nil || o != chat.Applied {
		t.Fatal(o, err)
	}
	res := db.AppendBatch(ctx, []chat.AppendRequest{{Who: who, ClientID: "m1", ChatID: c.ID, Kind: chat.KindMessage, From: who.Sender(), Text: "hi"}})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if ok, err := db.Answered(ctx, c.ID, since); err != nil || !ok {
		t.Fatalf("answered after a reply: %v %v", ok, err)
	}
	if ok, err := db.Answered(ctx, c.ID, time.Now().Add(time.Minute)); err != nil || ok {
		t.Fatalf("answered since a later moment: %v %v", ok, err)
	}
	if ok, err := db.AwaitsAnswer(ctx, c.ID); err != nil || ok {
		t.Fatalf("awaits answer after the reply: %v %v", ok, err)
	}
}
