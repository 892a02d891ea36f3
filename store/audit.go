package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/chatd/chatd/chat"
)

// AuditEntry is one row of the access and change log.
type AuditEntry = chat.AuditEntry

// The audit log is append-only and a hash chain. Each row carries the hash
// of the row before it (PrevHash) and its own hash over its fields and
// PrevHash. The one row of audit_chain holds the head (the last row's seq
// and hash) and the start (the first kept row's seq and the hash it
// follows). Every writer locks that row in its transaction, so rows
// written on several nodes at once get consecutive seqs and one chain:
// PostgreSQL locks it with FOR UPDATE, SQLite's write lock (taken at BEGIN)
// already holds off every other writer. Nothing but the purge of rows past
// their retention deletes a row, and nothing changes one.

const auditCols = "id, seq, at, actor_kind, actor_id, action, object_kind, object_id, detail, prev_hash, hash"

// auditHash is a row's hash: SHA-256 over a JSON array of its fields and
// the hash it follows. JSON arrays of strings and numbers encode one way
// only, so the writer and the verifier agree.
func auditHash(e AuditEntry) string {
	b, _ := json.Marshal([]any{e.Seq, e.ID, e.AtMS, e.ActorKind, e.ActorID, e.Action, e.ObjectKind, e.ObjectID, e.Detail, e.PrevHash})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Audit writes one audit row in a transaction of its own.
func (db *DB) Audit(ctx context.Context, e AuditEntry) error {
	return db.inTx(ctx, func(tx *sqlx.Tx) error { return db.insertAudit(ctx, tx, e) })
}

type chainState struct {
	HeadSeq   int64  `db:"head_seq"`
	HeadHash  string `db:"head_hash"`
	FirstSeq  int64  `db:"first_seq"`
	FirstPrev string `db:"first_prev"`
}

// lockChain reads the chain's head and start, locking them until tx ends.
func (db *DB) lockChain(ctx context.Context, tx *sqlx.Tx) (chainState, error) {
	q := "SELECT head_seq, head_hash, first_seq, first_prev FROM audit_chain WHERE id = 1"
	if db.engine == Postgres {
		q += " FOR UPDATE"
	}
	var c chainState
	if err := tx.GetContext(ctx, &c, q); err != nil {
		return c, fmt.Errorf("audit chain: %w", err)
	}
	return c, nil
}

// insertAudit appends a row to the chain in tx, the transaction whose change
// the row records. It locks the chain's head until tx ends, so it goes last
// in its transaction: no lock is taken after it.
func (db *DB) insertAudit(ctx context.Context, tx *sqlx.Tx, e AuditEntry) error {
	c, err := db.lockChain(ctx, tx)
	if err != nil {
		return err
	}
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	e.Seq, e.PrevHash, e.AtMS = c.HeadSeq+1, c.HeadHash, now()
	return db.writeChained(ctx, tx, e)
}

// writeChained stores e, whose Seq and PrevHash follow the head, with its
// hash, and moves the head to it.
func (db *DB) writeChained(ctx context.Context, tx *sqlx.Tx, e AuditEntry) error {
	e.Hash = auditHash(e)
	if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO audit (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		e.ID, e.Seq, e.AtMS, e.ActorKind, e.ActorID, e.Action, e.ObjectKind, e.ObjectID, e.Detail, e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if _, err := tx.ExecContext(ctx, db.rebind("UPDATE audit_chain SET head_seq = ?, head_hash = ? WHERE id = 1"), e.Seq, e.Hash); err != nil {
		return fmt.Errorf("audit chain: %w", err)
	}
	return nil
}

// sealAudit puts rows written before the log was a chain (they have no
// seq) onto the chain, oldest first. It runs after the migrations; once
// every row is chained it finds nothing to do.
func (db *DB) sealAudit(ctx context.Context) error {
	var n int
	if err := db.x.GetContext(ctx, &n, "SELECT COUNT(*) FROM audit WHERE seq IS NULL"); err != nil || n == 0 {
		return err
	}
	return db.inTx(ctx, func(tx *sqlx.Tx) error {
		c, err := db.lockChain(ctx, tx)
		if err != nil {
			return err
		}
		var rows []struct {
			ID         string `db:"id"`
			At         int64  `db:"at"`
			ActorKind  string `db:"actor_kind"`
			ActorID    string `db:"actor_id"`
			Action     string `db:"action"`
			ObjectKind string `db:"object_kind"`
			ObjectID   string `db:"object_id"`
			Detail     string `db:"detail"`
		}
		if err := tx.SelectContext(ctx, &rows, `SELECT id, at, actor_kind, actor_id, action, object_kind, object_id, detail
			FROM audit WHERE seq IS NULL ORDER BY at, id`); err != nil {
			return fmt.Errorf("seal audit: %w", err)
		}
		for _, r := range rows {
			e := AuditEntry{ID: r.ID, Seq: c.HeadSeq + 1, AtMS: r.At, ActorKind: r.ActorKind, ActorID: r.ActorID, Action: r.Action,
				ObjectKind: r.ObjectKind, ObjectID: r.ObjectID, Detail: r.Detail, PrevHash: c.HeadHash}
			e.Hash = auditHash(e)
			if _, err := tx.ExecContext(ctx, db.rebind("UPDATE audit SET seq = ?, prev_hash = ?, hash = ? WHERE id = ?"), e.Seq, e.PrevHash, e.Hash, e.ID); err != nil {
				return fmt.Errorf("seal audit: %w", err)
			}
			c.HeadSeq, c.HeadHash = e.Seq, e.Hash
		}
		_, err = tx.ExecContext(ctx, db.rebind("UPDATE audit_chain SET head_seq = ?, head_hash = ? WHERE id = 1"), c.HeadSeq, c.HeadHash)
		return err
	})
}

// AuditLog lists the audit rows q selects, newest first.
func (db *DB) AuditLog(ctx context.Context, q chat.AuditQuery) ([]AuditEntry, error) {
	where := []string{"seq IS NOT NULL"}
	var args []any
	eq := func(col, v string) {
		if v != "" {
			where, args = append(where, col+" = ?"), append(args, v)
		}
	}
	eq("actor_kind", q.ActorKind)
	eq("actor_id", q.ActorID)
	eq("object_kind", q.ObjectKind)
	eq("object_id", q.ObjectID)
	if prefix, ok := strings.CutSuffix(q.Action, "*"); ok {
		// substr, not LIKE: nothing the client sends is a pattern.
		where, args = append(where, fmt.Sprintf("substr(action, 1, %d) = ?", len(prefix))), append(args, prefix)
	} else {
		eq("action", q.Action)
	}
	if !q.From.IsZero() {
		where, args = append(where, "at >= ?"), append(args, q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		where, args = append(where, "at < ?"), append(args, q.To.UnixMilli())
	}
	if q.Before > 0 {
		where, args = append(where, "seq < ?"), append(args, q.Before)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	var rows []AuditEntry
	if err := db.x.SelectContext(ctx, &rows, db.rebind("SELECT "+auditCols+" FROM audit WHERE "+strings.Join(where, " AND ")+" ORDER BY seq DESC LIMIT ?"), args...); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	for i := range rows {
		rows[i].At = msTime(rows[i].AtMS)
	}
	return rows, nil
}

// AuditReport is what VerifyAudit found.
type AuditReport struct {
	First, Last int64  // the seqs of the first and last rows checked (0, 0: none)
	Rows        int64  // how many rows were checked
	Head        string // the hash of the chain's head
	Problem     *AuditProblem
}

// AuditProblem names the first row that is altered or missing.
type AuditProblem struct {
	Seq    int64
	ID     string // "" for a missing row
	Reason string
}

func (p *AuditProblem) Error() string {
	if p.ID != "" {
		return fmt.Sprintf("audit row %d (id %s): %s", p.Seq, p.ID, p.Reason)
	}
	return fmt.Sprintf("audit row %d: %s", p.Seq, p.Reason)
}

// VerifyAudit walks the chain from its start to its head and reports the
// first row whose fields no longer give its hash, that does not follow the
// row before it, or that is missing; and rows written around the chain.
// It takes no lock: rows appended while it runs are past the head it read
// and are left for the next run; a purge that moves the chain's start
// meanwhile makes it start again.
func (db *DB) VerifyAudit(ctx context.Context) (AuditReport, error) {
	for attempt := 0; ; attempt++ {
		rep, start, err := db.verifyAudit(ctx)
		if err != nil || rep.Problem == nil || attempt == 2 {
			return rep, err
		}
		var now chainState
		if err := db.x.GetContext(ctx, &now, "SELECT head_seq, head_hash, first_seq, first_prev FROM audit_chain WHERE id = 1"); err != nil {
			return rep, fmt.Errorf("audit chain: %w", err)
		}
		if now.FirstSeq == start.FirstSeq {
			return rep, nil
		}
	}
}

func (db *DB) verifyAudit(ctx context.Context) (AuditReport, chainState, error) {
	var rep AuditReport
	var c chainState
	if err := db.x.GetContext(ctx, &c, "SELECT head_seq, head_hash, first_seq, first_prev FROM audit_chain WHERE id = 1"); err != nil {
		return rep, c, fmt.Errorf("audit chain: %w", err)
	}
	rep.Head = c.HeadHash
	fail := func(seq int64, id, format string, args ...any) (AuditReport, chainState, error) {
		rep.Problem = &AuditProblem{Seq: seq, ID: id, Reason: fmt.Sprintf(format, args...)}
		return rep, c, nil
	}
	var stray sql.NullString
	if err := db.x.GetContext(ctx, &stray, "SELECT MIN(id) FROM audit WHERE seq IS NULL"); err != nil {
		return rep, c, fmt.Errorf("audit verify: %w", err)
	}
	if stray.Valid {
		return fail(0, stray.String, "the row is not on the chain (written around the log)")
	}
	if c.FirstSeq > 1 {
		if p := db.checkStart(ctx, c); p != nil {
			rep.Problem = p
			return rep, c, nil
		}
	}
	want, prev := c.FirstSeq, c.FirstPrev
	var prevID string
	for want <= c.HeadSeq {
		var rows []AuditEntry
		if err := db.x.SelectContext(ctx, &rows, db.rebind("SELECT "+auditCols+" FROM audit WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT 1000"), want, c.HeadSeq); err != nil {
			return rep, c, fmt.Errorf("audit verify: %w", err)
		}
		for _, r := range rows {
			switch {
			case r.Seq != want:
				return fail(want, "", "missing (the next row kept is %d)", r.Seq)
			case auditHash(r) != r.Hash:
				return fail(r.Seq, r.ID, "altered: its fields no longer give its hash")
			case r.PrevHash != prev && r.Seq == c.FirstSeq:
				return fail(r.Seq, r.ID, "altered: it does not follow the chain's start")
			case r.PrevHash != prev:
				return fail(r.Seq-1, prevID, "altered: its hash is not the one the next row follows")
			}
			if rep.Rows == 0 {
				rep.First = r.Seq
			}
			rep.Rows++
			rep.Last, prev, prevID, want = r.Seq, r.Hash, r.ID, r.Seq+1
		}
		if len(rows) < 1000 {
			break
		}
	}
	switch {
	case want <= c.HeadSeq:
		return fail(want, "", "missing: the log ends at %d, the chain's head is %d", want-1, c.HeadSeq)
	case c.HeadSeq > 0 && prev != c.HeadHash:
		return fail(c.HeadSeq, prevID, "altered: its hash is not the chain's head")
	}
	// A row past the head is one no writer put there (a writer moves the
	// head in the transaction that adds the row). The rows are read before
	// the head, so a row a writer commits in between is never taken for one.
	var past sql.NullInt64
	if err := db.x.GetContext(ctx, &past, db.rebind("SELECT MIN(seq) FROM audit WHERE seq > ?"), c.HeadSeq); err != nil {
		return rep, c, fmt.Errorf("audit verify: %w", err)
	}
	if past.Valid {
		var head int64
		if err := db.x.GetContext(ctx, &head, "SELECT head_seq FROM audit_chain WHERE id = 1"); err != nil {
			return rep, c, fmt.Errorf("audit chain: %w", err)
		}
		if past.Int64 > head {
			return fail(past.Int64, "", "the row is past the chain's head (%d): written around the log", head)
		}
	}
	return rep, c, nil
}

// checkStart: a chain that starts after row 1 was cut by a purge, which
// wrote a row saying where the chain starts now. The latest such row must
// name the current start, so the start cannot be moved unseen.
func (db *DB) checkStart(ctx context.Context, c chainState) *AuditProblem {
	var detail string
	err := db.x.GetContext(ctx, &detail, db.rebind("SELECT detail FROM audit WHERE action = ? AND seq IS NOT NULL ORDER BY seq DESC LIMIT 1"), ActionAuditPurged)
	if errors.Is(err, sql.ErrNoRows) {
		return &AuditProblem{Seq: c.FirstSeq - 1, Reason: "missing: the chain starts at " + fmt.Sprint(c.FirstSeq) + " but no purge says so"}
	}
	if err != nil {
		return &AuditProblem{Seq: c.FirstSeq, Reason: "cannot read the purge record: " + err.Error()}
	}
	if !strings.Contains(detail, chainStart(c.FirstSeq, c.FirstPrev)) {
		return &AuditProblem{Seq: c.FirstSeq - 1, Reason: fmt.Sprintf("missing: the chain starts at %d, the last purge says %q", c.FirstSeq, detail)}
	}
	return nil
}

// ActionAuditPurged is the action of the row a purge of old audit rows
// writes, naming where the chain starts from then on.
const ActionAuditPurged = "audit.purged"

func chainStart(seq int64, prev string) string {
	return fmt.Sprintf("first_seq=%d first_prev=%s", seq, prev)
}

// purgeAudit deletes, in tx, the audit rows written before cutoff (a
// contiguous run from the chain's start: the chain stays whole), moves the
// chain's start past them and appends a row saying so. It reports how many
// rows went.
func (db *DB) purgeAudit(ctx context.Context, tx *sqlx.Tx, cutoff time.Time, dryRun bool) (int64, error) {
	c, err := db.lockChain(ctx, tx)
	if err != nil {
		return 0, err
	}
	// The first row to keep: the oldest written at or after the cutoff.
	// Rows are kept from it on, even one with an earlier time (a node's
	// clock behind), so no hole is cut in the chain.
	var keep sql.NullInt64
	if err := tx.GetContext(ctx, &keep, db.rebind("SELECT MIN(seq) FROM audit WHERE at >= ? AND seq IS NOT NULL"), cutoff.UnixMilli()); err != nil {
		return 0, fmt.Errorf("purge audit: %w", err)
	}
	first := c.HeadSeq + 1
	if keep.Valid {
		first = keep.Int64
	}
	if first <= c.FirstSeq {
		return 0, nil
	}
	var n int64
	if err := tx.GetContext(ctx, &n, db.rebind("SELECT COUNT(*) FROM audit WHERE seq < ?"), first); err != nil {
		return 0, fmt.Errorf("purge audit: %w", err)
	}
	if dryRun {
		return n, nil
	}
	prev := c.HeadHash
	if first <= c.HeadSeq {
		if err := tx.GetContext(ctx, &prev, db.rebind("SELECT prev_hash FROM audit WHERE seq = ?"), first); err != nil {
			return 0, fmt.Errorf("purge audit: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, db.rebind("DELETE FROM audit WHERE seq < ?"), first); err != nil {
		return 0, fmt.Errorf("purge audit: %w", err)
	}
	if _, err := tx.ExecContext(ctx, db.rebind("UPDATE audit_chain SET first_seq = ?, first_prev = ? WHERE id = 1"), first, prev); err != nil {
		return 0, fmt.Errorf("purge audit: %w", err)
	}
	e := AuditEntry{ID: uuid.NewString(), Seq: c.HeadSeq + 1, PrevHash: c.HeadHash, AtMS: now(), ActorKind: chat.KindSystem, ActorID: "purge",
		Action: ActionAuditPurged, ObjectKind: "audit",
		Detail: fmt.Sprintf("%s rows=%d cutoff=%s", chainStart(first, prev), n, cutoff.UTC().Format(time.RFC3339))}
	return n, db.writeChained(ctx, tx, e)
}
