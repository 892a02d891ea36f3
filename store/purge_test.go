package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store"
	"github.com/chatd/chatd/store/storetest"
)

// age moves a visitor's and their chats' and tickets' times back by d, as
// if they had been made d ago.
func age(t *testing.T, db *store.DB, visitorID string, d time.Duration) {
	t.Helper()
	ms := d.Milliseconds()
	exec(t, db, "UPDATE visitors SET created_at = created_at - ?, last_seen_at = last_seen_at - ? WHERE id = ?", ms, ms, visitorID)
	exec(t, db, "UPDATE chats SET created_at = created_at - ?, last_activity_at = last_activity_at - ?, closed_at = closed_at - ? WHERE visitor_id = ?", ms, ms, ms, visitorID)
	exec(t, db, "UPDATE tickets SET created_at = created_at - ?, last_activity_at = last_activity_at - ? WHERE visitor_id = ?", ms, ms, visitorID)
	exec(t, db, "UPDATE visitor_tokens SET created_at = created_at - ?, last_used_at = last_used_at - ? WHERE visitor_id = ?", ms, ms, visitorID)
}

func closeChat(t *testing.T, db *store.DB, c *chat.Chat) {
	t.Helper()
	if _, o, err := db.Transit(context.Background(), chat.Transition{ChatID: c.ID, From: chat.OpenStates, To: chat.StatusClosed, Reason: "agent_closed"}); err != nil || o != chat.Applied {
		t.Fatalf("close: %v %v", o, err)
	}
}

func exists(t *testing.T, db *store.DB, visitorID string) bool {
	t.Helper()
	_, err := db.Visitor(context.Background(), visitorID)
	if err != nil && chat.ErrorCode(err) != chat.ENotFound {
		t.Fatal(err)
	}
	return err == nil
}

// TestPurgeRecords purges real data of every kind and checks what stays:
// a year-old visitor with nothing left goes with their tokens; one with an
// open chat, a pending ticket or a token used lately stays; a dry run
// counts exactly what the real run then deletes, and deletes nothing.
func TestPurgeRecords(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	const year = 366 * 24 * time.Hour

	// Old, closed, nothing else: everything of theirs goes.
	gone, goneChat := newChat(t, db)
	goneTok, err := db.CreateVisitorToken(ctx, gone.ID)
	if err != nil {
		t.Fatal(err)
	}
	closeChat(t, db, goneChat)
	age(t, db, gone.ID, year)

	// Old, no chat at all, never came back.
	idle := &chat.Visitor{}
	if err := db.CreateVisitor(ctx, idle); err != nil {
		t.Fatal(err)
	}
	age(t, db, idle.ID, year)

	// Old but their chat is still open.
	open, openChat := newChat(t, db)
	age(t, db, open.ID, year)

	// Old, chat closed, but their escalated ticket is still open.
	escalated, escChat := newChat(t, db)
	agent := activate(t, db, escChat)
	esc, _, err := db.Escalate(ctx, chat.Escalation{Who: chat.Principal{Agent: agent}, ChatID: escChat.ID, By: chat.Sender{Kind: chat.FromAgent, ID: agent.ID}},
		func(*chat.Chat, []chat.Message) (string, string) { return "s", "t" })
	if err != nil {
		t.Fatal(err)
	}
	age(t, db, escalated.ID, year)

	// Old chat, but the visitor used a token yesterday.
	back, backChat := newChat(t, db)
	backTok, err := db.CreateVisitorToken(ctx, back.ID)
	if err != nil {
		t.Fatal(err)
	}
	closeChat(t, db, backChat)
	age(t, db, back.ID, year)
	if err := db.TouchVisitorToken(ctx, backTok, time.Now().Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}

	// Recent: stays.
	recent, recentChat := newChat(t, db)
	closeChat(t, db, recentChat)

	plan := store.PurgePlan{Cutoff: time.Now().Add(-365 * 24 * time.Hour), TokenCutoff: time.Now().Add(-90 * 24 * time.Hour), By: "test"}
	dry := plan
	dry.DryRun = true
	want, err := db.Purge(ctx, dry)
	if err != nil {
		t.Fatal(err)
	}
	// The dry run deleted nothing.
	for _, v := range []*chat.Visitor{gone, idle, open, escalated, back, recent} {
		if !exists(t, db, v.ID) {
			t.Fatalf("the dry run deleted visitor %s", v.ID)
		}
	}
	got, err := db.Purge(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	got.Sessions, want.Sessions = 0, 0
	got.Requests, want.Requests = 0, 0
	if got != want {
		t.Errorf("the dry run said %+v, the purge did %+v", want, got)
	}
	// The chats of gone, back and escalated (whose ticket holds its
	// transcript) with their three messages; gone's token; gone and idle.
	if got.Chats != 3 || got.Messages != 3 || got.Tickets != 0 || got.Visitors != 2 || got.Tokens != 1 {
		t.Errorf("purged %+v", got)
	}
	for v, stays := range map[*chat.Visitor]bool{gone: false, idle: false, open: true, escalated: true, back: true, recent: true} {
		if exists(t, db, v.ID) != stays {
			t.Errorf("visitor %s: stays=%v, want %v", v.ID, !stays, stays)
		}
	}
	for c, stays := range map[*chat.Chat]bool{goneChat: false, backChat: false, escChat: false, openChat: true, recentChat: true} {
		_, err := db.Chat(ctx, c.ID)
		if (err == nil) != stays {
			t.Errorf("chat %s: %v, want staying %v", c.ID, err, stays)
		}
	}
	if _, _, err := db.VisitorToken(ctx, goneTok); chat.ErrorCode(err) != chat.ENotFound {
		t.Errorf("a purged visitor's token: %v", err)
	}
	if _, _, err := db.VisitorToken(ctx, backTok); err != nil {
		t.Errorf("a token used yesterday: %v", err)
	}
	if n, err := db.CountTickets(ctx); err != nil || n != 1 {
		t.Errorf("tickets: %d %v; want the open one (%s)", n, err, esc.TicketID)
	}
	// The purge said what it did in the audit log.
	rows, err := db.AuditLog(ctx, chat.AuditQuery{Action: store.ActionPurge})
	if err != nil || len(rows) != 1 || rows[0].ActorID != "test" {
		t.Fatalf("audit: %+v %v", rows, err)
	}
	// Once the ticket is solved and a year old, it goes too, and so does
	// escalated (nothing of theirs is left).
	exec(t, db, "UPDATE tickets SET status = 'solved', last_activity_at = last_activity_at - ?", year.Milliseconds())
	got, err = db.Purge(ctx, plan)
	if err != nil || got.Tickets != 1 || got.Visitors != 1 || exists(t, db, escalated.ID) {
		t.Fatalf("after the ticket was solved: %+v %v", got, err)
	}
}

// TestRetentionOneNodeAtATime: nodes racing for the daily purge purge once
// between them; the day's mark keeps them from purging again, and once it
// is gone the next check purges.
func TestRetentionOneNodeAtATime(t *testing.T) {
	ctx := context.Background()
	dbs := openNodes(t, 3)
	rdb, prefix := storetest.Redis(t)
	var nodes []*store.Retention
	for _, db := range dbs {
		nodes = append(nodes, &store.Retention{DB: db, Redis: rdb, Prefix: prefix, Days: 365, AuditDays: 730})
	}
	var ran atomic.Int32
	var wg sync.WaitGroup
	for round := range 4 {
		for _, r := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				did, _, err := r.RunOnce(ctx)
				if err != nil {
					t.Errorf("round %d: %v", round, err)
				}
				if did {
					ran.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	if ran.Load() != 1 {
		t.Fatalf("the purge ran %d times across the nodes, want once", ran.Load())
	}
	rows, err := dbs[0].AuditLog(ctx, chat.AuditQuery{Action: store.ActionPurge})
	if err != nil || len(rows) != 1 || rows[0].ActorID != "retention" {
		t.Fatalf("audit: %+v %v", rows, err)
	}
	if err := rdb.Del(ctx, prefix+"purge:done").Err(); err != nil {
		t.Fatal(err)
	}
	if did, _, err := nodes[2].RunOnce(ctx); err != nil || !did {
		t.Fatalf("a day later: ran %v, %v", did, err)
	}
	// A lock left by a node that died holds the others off until it expires.
	if err := rdb.Del(ctx, prefix+"purge:done").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, prefix+"purge:lock", "a dead node", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if did, _, err := nodes[0].RunOnce(ctx); err != nil || did {
		t.Fatalf("while another node holds the lock: ran %v, %v", did, err)
	}
}
