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

// openNodes opens n stores on one fresh database, as n nodes would.
func openNodes(t *testing.T, n int) []*store.DB {
	t.Helper()
	url := storetest.DatabaseURL(t)
	var dbs []*store.DB
	for range n {
		db, err := store.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, db)
	}
	return dbs
}

func audit(t *testing.T, db *store.DB, n int, action string) {
	t.Helper()
	for i := range n {
		if err := db.Audit(context.Background(), store.AuditEntry{ActorKind: "admin", ActorID: "ada", Action: action, ObjectKind: "chat", ObjectID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func verify(t *testing.T, db *store.DB) store.AuditReport {
	t.Helper()
	rep, err := db.VerifyAudit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// allRows returns the whole log, oldest first.
func allRows(t *testing.T, db *store.DB) []store.AuditEntry {
	t.Helper()
	rows, err := db.AuditLog(context.Background(), chat.AuditQuery{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	return rows
}

// Writers on several nodes at once make one chain: consecutive seqs, each
// row following the one before, and a verify that passes.
func TestAuditChainAcrossNodes(t *testing.T) {
	dbs := openNodes(t, 3)
	var wg sync.WaitGroup
	for _, db := range dbs {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 20 {
					if err := db.Audit(context.Background(), store.AuditEntry{ActorKind: "agent", ActorID: "a", Action: "chat.viewed", ObjectKind: "chat", ObjectID: fmt.Sprint(i)}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	rows := allRows(t, dbs[0])
	if len(rows) != 180 {
		t.Fatalf("%d rows, want 180", len(rows))
	}
	prev := ""
	for i, r := range rows {
		if r.Seq != int64(i+1) || r.PrevHash != prev || r.Hash != store.AuditHashForTest(r) {
			t.Fatalf("row %d: seq %d prev %q hash %q: not a chain (previous hash %q)", i, r.Seq, r.PrevHash, r.Hash, prev)
		}
		prev = r.Hash
	}
	if rep := verify(t, dbs[1]); rep.Problem != nil || rep.Rows != 180 || rep.Head != prev {
		t.Fatalf("verify: %+v %v", rep, rep.Problem)
	}
}

// Every way of changing the log behind the store's back is found, and the
// first row at fault is named.
func TestAuditVerifyFindsTampering(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func(t *testing.T, db *store.DB, rows []store.AuditEntry)
		seq     int64
		idOf    int64 // the row whose id is named (0: none, -1: the forged row)
		problem string
	}{
		{"a detail changed", func(t *testing.T, db *store.DB, rows []store.AuditEntry) {
			exec(t, db, "UPDATE audit SET detail = 'nothing to see' WHERE seq = 5")
		}, 5, 5, "altered"},
		{"an actor changed", func(t *testing.T, db *store.DB, rows []store.AuditEntry) {
			exec(t, db, "UPDATE audit SET actor_id = 'someone-else' WHERE seq = 1")
		}, 1, 1, "altered"},
		{"a time changed", func(t *testing.T, db *store.DB, rows []store.AuditEntry) {
			exec(t, db, "UPDATE audit SET at = at - 86400000 WHERE seq = 7")
		}, 7, 7, "altered"},
		{"a row deleted", func(t *testing.T, db *store.DB, rows []store.AuditEntry) {
			exec(t, db, "DELETE FROM audit WHERE seq = 4")
		}, 4, 0, "missing"},
		{"the newest row deleted", func(t *testing.T, db *store.DB, rows []store.AuditEntry) {
			exec(t, db, "DELETE FROM audit WHERE seq = 10")
		}, 10, 0, "missing"},
		{"the oldest rows deleted", func(t *testing.T, db *store.DB, rows []store.AuditEntry) {
			exec(t, db, "DELETE FROM audit WHERE seq <= 2")
		}, 1, 0, "missing"},
		{"a row rewritten with its own hash recomputed", func(t *testing.T, db *store.DB, rows []store.AuditEntry) {
			r := rows[5] // seq 6
			r.Detail = "rewritten"
			exec(t, db, "UPDATE audit SET detail = ?, hash = ? WHERE seq = 6", r.Detail, store.AuditHashForTest(r))
		}, 6, 6, "altered"},
		{"the newest row rewritten with its hash recomputed", func(t *testing.T, db *store.DB, rows []store.AuditEntry) {
			r := rows[9]
			r.Detail = "rewritten"
			exec(t, db, "UPDATE audit SET detail = ?, hash = ? WHERE seq = 10", r.Detail, store.AuditHashForTest(r))
		}, 10, 10, "altered"},
		{"the start moved past deleted rows", func(t *testing.T, db *store.DB, rows []store.AuditEntry) {
			exec(t, db, "DELETE FROM audit WHERE seq <= 3")
			exec(t, db, "UPDATE audit_chain SET first_seq = 4, first_prev = ?", rows[2].Hash)
		}, 3, 0, "no purge says so"},
		{"a row added around the chain", func(t *testing.T, db *store.DB, rows []store.AuditEntry) {
			exec(t, db, "INSERT INTO audit (id, at, actor_kind, actor_id, action, object_kind, object_id) VALUES ('forged', 0, 'admin', 'x', 'y', 'z', 'w')")
		}, 0, -1, "not on the chain"},
		{"a row added past the head", func(t *testing.T, db *store.DB, rows []store.AuditEntry) {
			exec(t, db, "INSERT INTO audit (id, seq, at, actor_kind, actor_id, action, object_kind, object_id) VALUES ('forged', 11, 0, 'admin', 'x', 'y', 'z', 'w')")
		}, 11, 0, "past the chain's head"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := storetest.DB(t)
			audit(t, db, 10, "chat.viewed")
			rows := allRows(t, db)
			if rep := verify(t, db); rep.Problem != nil || rep.Rows != 10 {
				t.Fatalf("before: %+v %v", rep, rep.Problem)
			}
			tt.tamper(t, db, rows)
			p := verify(t, db).Problem
			if p == nil {
				t.Fatal("verify passed")
			}
			wantID := ""
			switch {
			case tt.idOf > 0:
				wantID = rows[tt.idOf-1].ID
			case tt.idOf < 0:
				wantID = "forged"
			}
			if p.Seq != tt.seq || p.ID != wantID || !strings.Contains(p.Reason, tt.problem) {
				t.Fatalf("found %q (seq %d, id %q); want seq %d, id %q, %q", p.Error(), p.Seq, p.ID, tt.seq, wantID, tt.problem)
			}
		})
	}
}

func exec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	if err := db.ExecForTest(context.Background(), q, args...); err != nil {
		t.Fatal(err)
	}
}

// Purging old audit rows moves the chain's start and records it, so the
// chain stays verifiable (and tampering with what is kept is still found).
func TestAuditPurgeKeepsTheChain(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	audit(t, db, 10, "old")
	time.Sleep(5 * time.Millisecond)
	cutoff := time.Now()
	time.Sleep(5 * time.Millisecond)
	audit(t, db, 5, "new")
	res, err := db.Purge(ctx, store.PurgePlan{Cutoff: cutoff.Add(-time.Hour), AuditCutoff: cutoff, DryRun: true})
	if err != nil || res.Audit != 10 {
		t.Fatalf("dry run: %+v %v, want 10 audit rows", res, err)
	}
	if rows := allRows(t, db); len(rows) != 15 {
		t.Fatalf("the dry run deleted: %d rows left", len(rows))
	}
	res, err = db.Purge(ctx, store.PurgePlan{Cutoff: cutoff.Add(-time.Hour), AuditCutoff: cutoff})
	if err != nil || res.Audit != 10 {
		t.Fatalf("purge: %+v %v, want 10 audit rows", res, err)
	}
	rows := allRows(t, db)
	// Kept: the 5 new rows, the purge's record of the chain's new start, and
	// its own row.
	if len(rows) != 7 || rows[0].Seq != 11 || rows[0].Action != "new" || rows[5].Action != store.ActionAuditPurged || rows[6].Action != store.ActionPurge {
		t.Fatalf("after the purge: %+v", rows)
	}
	if rep := verify(t, db); rep.Problem != nil || rep.First != 11 || rep.Rows != 7 {
		t.Fatalf("verify after purge: %+v %v", rep, rep.Problem)
	}
	// A second purge cuts again; one past everything leaves only its records.
	if _, err := db.Purge(ctx, store.PurgePlan{Cutoff: cutoff, AuditCutoff: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rows = allRows(t, db)
	if len(rows) != 2 || rows[0].Action != store.ActionAuditPurged {
		t.Fatalf("after purging everything: %+v", rows)
	}
	if rep := verify(t, db); rep.Problem != nil {
		t.Fatalf("verify after purging everything: %v", rep.Problem)
	}
	audit(t, db, 3, "later")
	exec(t, db, "DELETE FROM audit WHERE seq = ?", rows[1].Seq+2)
	if p := verify(t, db).Problem; p == nil || p.Seq != rows[1].Seq+2 {
		t.Fatalf("a row deleted after purges: %v", p)
	}
}

// Rows written before the log was a chain join it when the store migrates.
func TestAuditSealsRowsFromBeforeTheChain(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	audit(t, db, 2, "chained")
	for i, at := range []int64{3000, 1000, 2000} {
		exec(t, db, "INSERT INTO audit (id, at, actor_kind, actor_id, action, object_kind, object_id) VALUES (?, ?, 'admin', 'a', 'legacy', 'chat', 'c')", fmt.Sprint("old", i), at)
	}
	if p := verify(t, db).Problem; p == nil {
		t.Fatal("unchained rows passed")
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rows := allRows(t, db)
	if len(rows) != 5 || rows[2].ID != "old1" || rows[3].ID != "old2" || rows[4].ID != "old0" {
		t.Fatalf("sealed rows in the wrong order: %+v", rows)
	}
	if rep := verify(t, db); rep.Problem != nil || rep.Rows != 5 {
		t.Fatalf("after sealing: %+v %v", rep, rep.Problem)
	}
}

func TestAuditLogFilters(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	write := func(actor, action, object string) {
		t.Helper()
		if err := db.Audit(ctx, store.AuditEntry{ActorKind: "admin", ActorID: actor, Action: action, ObjectKind: "agent", ObjectID: object}); err != nil {
			t.Fatal(err)
		}
	}
	write("ada", "auth.login", "ada")
	write("ada", "agent.created", "ece")
	time.Sleep(5 * time.Millisecond)
	mid := time.Now()
	time.Sleep(5 * time.Millisecond)
	write("bob", "auth.login_failed", "ece")
	write("bob", "agent.changed", "ece")
	tests := []struct {
		name string
		q    chat.AuditQuery
		want []string // actions, newest first
	}{
		{"everything", chat.AuditQuery{}, []string{"agent.changed", "auth.login_failed", "agent.created", "auth.login"}},
		{"by actor", chat.AuditQuery{ActorID: "ada"}, []string{"agent.created", "auth.login"}},
		{"by object", chat.AuditQuery{ObjectKind: "agent", ObjectID: "ece"}, []string{"agent.changed", "auth.login_failed", "agent.created"}},
		{"by action", chat.AuditQuery{Action: "auth.login"}, []string{"auth.login"}},
		{"by action prefix", chat.AuditQuery{Action: "auth.*"}, []string{"auth.login_failed", "auth.login"}},
		{"a prefix is not a pattern", chat.AuditQuery{Action: "%*"}, nil},
		{"from", chat.AuditQuery{From: mid}, []string{"agent.changed", "auth.login_failed"}},
		{"to", chat.AuditQuery{To: mid}, []string{"agent.created", "auth.login"}},
		{"all together", chat.AuditQuery{ActorID: "bob", Action: "agent.*", From: mid, To: time.Now().Add(time.Minute)}, []string{"agent.changed"}},
		{"limit", chat.AuditQuery{Limit: 1}, []string{"agent.changed"}},
		{"injection-shaped", chat.AuditQuery{ActorID: "ada' OR '1'='1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := db.AuditLog(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, r.Action)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
