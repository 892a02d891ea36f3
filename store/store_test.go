package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store"
	"github.com/chatd/chatd/store/storetest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	n, err := db.Migrate(ctx)
	if err != nil || n != 0 {
		t.Fatalf("second migrate: applied %d, err %v; want 0, nil", n, err)
	}
	v, err := db.Version(ctx)
	if err != nil || v < 1 {
		t.Fatalf("version %d, %v", v, err)
	}
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	for _, u := range []string{"mysql://x", "sqlite:", "redis://x"} {
		if _, err := store.Open(context.Background(), u); err == nil {
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}

func TestAgents(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	a := &chat.Agent{Email: "Ayse@Example.com", Name: "Ayşe", PasswordHash: "h", Role: chat.RoleAgent, Units: []string{"account", "financial"}, MaxChats: 3}
	if err := db.CreateAgent(ctx, a); err != nil {
		t.Fatal(err)
	}
	dup := *a
	dup.ID = ""
	if err := db.CreateAgent(ctx, &dup); chat.ErrorCode(err) != chat.EConflict {
		t.Fatalf("duplicate email: got %v, want conflict", err)
	}
	got, err := db.AgentByEmail(ctx, "ayse@example.COM")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.Name != "Ayşe" || len(got.Units) != 2 || got.Units[1] != "financial" || got.MaxChats != 3 {
		t.Fatalf("got %+v", got)
	}
	if _, err := db.Agent(ctx, "nope"); chat.ErrorCode(err) != chat.ENotFound {
		t.Fatalf("missing agent: %v", err)
	}

	tok, err := db.CreateSession(ctx, a.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := db.SessionAgent(ctx, tok); err != nil || s.ID != a.ID {
		t.Fatalf("session agent: %v %v", s, err)
	}
	got.Disabled = true
	if err := db.UpdateAgent(ctx, got); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionAgent(ctx, tok); chat.ErrorCode(err) != chat.EUnauthorized {
		t.Fatalf("disabled agent's session still works: %v", err)
	}
	if err := db.DeleteSession(ctx, tok); err != nil {
		t.Fatal(err)
	}
	list, err := db.Agents(ctx)
	if err != nil || len(list) != 1 || !list[0].Disabled {
		t.Fatalf("list: %+v %v", list, err)
	}
}

func TestAPIKeysAndSecret(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	id, key, err := db.CreateAPIKey(ctx, "crm")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.APIKey(ctx, key); err != nil || got.ID != id || got.Name != "crm" {
		t.Fatalf("APIKey: %+v %v", got, err)
	}
	if _, err := db.APIKey(ctx, key+"x"); chat.ErrorCode(err) != chat.EUnauthorized {
		t.Fatalf("wrong key accepted: %v", err)
	}
	s1, err := db.Secret(ctx)
	if err != nil || len(s1) != 32 {
		t.Fatalf("secret: %x %v", s1, err)
	}
	s2, _ := db.Secret(ctx)
	if string(s1) != string(s2) {
		t.Fatal("secret changed between calls")
	}
}

func TestPurgeWritesAudit(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	res, err := db.Purge(ctx, store.PurgePlan{Cutoff: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Chats != 0 || res.Tickets != 0 {
		t.Fatalf("purged %+v from an empty database", res)
	}
	log, err := db.AuditLog(ctx, chat.AuditQuery{Limit: 10})
	if err != nil || len(log) != 1 || log[0].Action != "purge" {
		t.Fatalf("audit: %+v %v", log, err)
	}
}

// The audit log pages newest first without losing rows written in the same
// millisecond.
func TestAuditPages(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	for i := range 5 {
		if err := db.Audit(ctx, store.AuditEntry{ActorKind: "agent", ActorID: "a", Action: "read", ObjectKind: "chat", ObjectID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	var cursor int64
	for page := 0; page < 10; page++ {
		rows, err := db.AuditLog(ctx, chat.AuditQuery{Limit: 2, Before: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if seen[r.ID] {
				t.Fatalf("row %s on two pages", r.ID)
			}
			seen[r.ID] = true
		}
		if len(rows) < 2 {
			break
		}
		cursor = rows[len(rows)-1].Seq
	}
	if len(seen) != 5 {
		t.Fatalf("paged through %d rows, want 5", len(seen))
	}
}
