package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/chat"
)

// PurgePlan says what a purge deletes.
type PurgePlan struct {
	// Cutoff: finished chats, solved and closed tickets, and visitors with
	// nothing left, whose last activity is before it.
	Cutoff time.Time
	// AuditCutoff: audit rows written before it (zero keeps them all).
	AuditCutoff time.Time
	// TokenCutoff: visitor tokens last used before it, which no longer
	// verify anyway (zero keeps them).
	TokenCutoff time.Time
	DryRun      bool   // count, delete nothing, write no audit row
	By          string // who asked, for the audit row ("cli", "retention")
}

// PurgeResult counts what a purge deleted (or, dry, would delete).
type PurgeResult struct {
	Chats, Messages, Tickets, Visitors, Tokens, Sessions, Requests, Audit int64
}

func (r PurgeResult) String() string {
	return fmt.Sprintf("%d chat(s) (%d message(s)), %d ticket(s), %d visitor(s), %d visitor token(s), %d ended session(s), %d audit row(s)",
		r.Chats, r.Messages, r.Tickets, r.Visitors, r.Tokens, r.Sessions, r.Audit)
}

// purgeStep is one kind of record a purge deletes: the table, the rows
// (the same WHERE counts them for a dry run and deletes them), and where
// the count goes. Dependent rows (messages, ticket entries, assignments)
// go with their chat or ticket through ON DELETE CASCADE.
type purgeStep struct {
	table, where string
	args         func(PurgePlan) []any
	count        func(*PurgeResult) *int64
	skip         func(PurgePlan) bool
}

func ms(t time.Time) int64 { return t.UnixMilli() }

var purgeSteps = []purgeStep{
	{table: "tickets", where: "last_activity_at < ? AND status IN ('solved', 'closed')",
		args: func(p PurgePlan) []any { return []any{ms(p.Cutoff)} }, count: func(r *PurgeResult) *int64 { return &r.Tickets }},
	{table: "messages", where: "chat_id IN (SELECT id FROM chats WHERE closed_at < ? AND last_activity_at < ? AND status IN ('closed', 'escalated'))",
		args: func(p PurgePlan) []any { return []any{ms(p.Cutoff), ms(p.Cutoff)} }, count: func(r *PurgeResult) *int64 { return &r.Messages }},
	{table: "chats", where: "closed_at < ? AND last_activity_at < ? AND status IN ('closed', 'escalated')",
		args: func(p PurgePlan) []any { return []any{ms(p.Cutoff), ms(p.Cutoff)} }, count: func(r *PurgeResult) *int64 { return &r.Chats }},
	// Tokens before visitors: a purged visitor's tokens are counted here
	// in both a dry run and a real one.
	{table: "visitor_tokens", where: "last_used_at < ?",
		args: func(p PurgePlan) []any { return []any{ms(p.TokenCutoff)} }, count: func(r *PurgeResult) *int64 { return &r.Tokens },
		skip: func(p PurgePlan) bool { return p.TokenCutoff.IsZero() }},
	// A visitor goes once none of their chats and tickets stays (the
	// conditions are the steps' above, negated, so a dry run counts the
	// same) and none of their tokens has been used since the cutoff.
	{table: "visitors", where: `last_seen_at < ?
		AND NOT EXISTS (SELECT 1 FROM chats WHERE chats.visitor_id = visitors.id
			AND (chats.closed_at IS NULL OR chats.closed_at >= ? OR chats.last_activity_at >= ? OR chats.status NOT IN ('closed', 'escalated')))
		AND NOT EXISTS (SELECT 1 FROM tickets WHERE tickets.visitor_id = visitors.id
			AND (tickets.last_activity_at >= ? OR tickets.status NOT IN ('solved', 'closed')))
		AND NOT EXISTS (SELECT 1 FROM visitor_tokens WHERE visitor_tokens.visitor_id = visitors.id AND visitor_tokens.last_used_at >= ?)`,
		args: func(p PurgePlan) []any { c := ms(p.Cutoff); return []any{c, c, c, c, c} }, count: func(r *PurgeResult) *int64 { return &r.Visitors }},
	{table: "sessions", where: "expires_at < ?",
		args: func(PurgePlan) []any { return []any{now()} }, count: func(r *PurgeResult) *int64 { return &r.Sessions }},
	{table: "requests", where: "created_at < ?",
		args: func(p PurgePlan) []any { return []any{ms(p.Cutoff)} }, count: func(r *PurgeResult) *int64 { return &r.Requests }},
}

// Purge deletes what p selects, in one transaction, and writes one audit
// row saying what went (a dry run only counts). Open chats and open or
// pending tickets are kept whatever their age. Audit rows past their own
// retention go from the start of the chain, which is moved past them
// (see purgeAudit), so `audit verify` still passes.
func (db *DB) Purge(ctx context.Context, p PurgePlan) (PurgeResult, error) {
	var res PurgeResult
	if p.Cutoff.IsZero() {
		return res, errors.New("purge: no cutoff")
	}
	tx, err := db.x.BeginTxx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("purge: %w", err)
	}
	defer tx.Rollback()
	for _, s := range purgeSteps {
		if s.skip != nil && s.skip(p) {
			continue
		}
		n, err := db.purgeStep(ctx, tx, s, p)
		if err != nil {
			return res, err
		}
		*s.count(&res) = n
	}
	if !p.AuditCutoff.IsZero() {
		if res.Audit, err = db.purgeAudit(ctx, tx, p.AuditCutoff, p.DryRun); err != nil {
			return res, err
		}
	}
	if p.DryRun {
		return res, nil
	}
	by := p.By
	if by == "" {
		by = "purge"
	}
	detail := fmt.Sprintf("cutoff=%s chats=%d messages=%d tickets=%d visitors=%d tokens=%d audit=%d",
		p.Cutoff.UTC().Format(time.RFC3339), res.Chats, res.Messages, res.Tickets, res.Visitors, res.Tokens, res.Audit)
	if !p.AuditCutoff.IsZero() {
		detail += " audit_cutoff=" + p.AuditCutoff.UTC().Format(time.RFC3339)
	}
	if err := db.insertAudit(ctx, tx, AuditEntry{ActorKind: chat.KindSystem, ActorID: by, Action: ActionPurge, ObjectKind: "records", Detail: detail}); err != nil {
		return res, err
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("purge: %w", err)
	}
	return res, nil
}

// ActionPurge is the action of the audit row every purge writes.
const ActionPurge = "purge"

func (db *DB) purgeStep(ctx context.Context, tx *sqlx.Tx, s purgeStep, p PurgePlan) (int64, error) {
	args := s.args(p)
	if p.DryRun || s.table == "messages" { // messages go with their chats
		var n int64
		if err := tx.GetContext(ctx, &n, db.rebind("SELECT COUNT(*) FROM "+s.table+" WHERE "+s.where), args...); err != nil {
			return 0, fmt.Errorf("purge %s: %w", s.table, err)
		}
		return n, nil
	}
	r, err := tx.ExecContext(ctx, db.rebind("DELETE FROM "+s.table+" WHERE "+s.where), args...)
	if err != nil {
		return 0, fmt.Errorf("purge %s: %w", s.table, err)
	}
	n, _ := r.RowsAffected()
	return n, nil
}

// Retention runs the daily purge. Every node runs the loop; a Redis lock
// lets one node at a time purge, and a mark that lasts a day keeps the
// others (and itself) from purging again before the day is over.
type Retention struct {
	DB        *DB
	Redis     redis.UniversalClient
	Prefix    string        // Redis key prefix, default "{chatd}:"
	Days      int           // CHAT_RETENTION_DAYS
	AuditDays int           // CHAT_AUDIT_RETENTION_DAYS (0 keeps audit rows)
	TokenTTL  time.Duration // CHAT_VISITOR_TOKEN_TTL (0 keeps unused tokens)
	Log       *slog.Logger
}

// Plan is the purge due at now.
func (r *Retention) Plan(at time.Time) PurgePlan {
	p := PurgePlan{Cutoff: at.Add(-time.Duration(r.Days) * 24 * time.Hour), By: "retention"}
	if r.AuditDays > 0 {
		p.AuditCutoff = at.Add(-time.Duration(r.AuditDays) * 24 * time.Hour)
	}
	if r.TokenTTL > 0 {
		p.TokenCutoff = at.Add(-r.TokenTTL)
	}
	return p
}

const (
	purgeLockTTL = 30 * time.Minute
	// purgeEvery is a little less than a day, so the loop's hourly checks
	// keep the purge at about the same hour.
	purgeEvery = 23*time.Hour + 30*time.Minute
)

func (r *Retention) keys() (lock, done string) {
	p := r.Prefix
	if p == "" {
		p = "{chatd}:"
	}
	return p + "purge:lock", p + "purge:done"
}

// releaseLock deletes the lock only while it is still this holder's.
var releaseLock = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// RunOnce purges unless the purge ran within the day or another node is
// running it. It reports whether this call purged.
func (r *Retention) RunOnce(ctx context.Context) (bool, PurgeResult, error) {
	lock, done := r.keys()
	if n, err := r.Redis.Exists(ctx, done).Result(); err != nil || n > 0 {
		return false, PurgeResult{}, err
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	holder := hex.EncodeToString(b)
	ok, err := r.Redis.SetNX(ctx, lock, holder, purgeLockTTL).Result()
	if err != nil || !ok {
		return false, PurgeResult{}, err
	}
	defer releaseLock.Run(context.WithoutCancel(ctx), r.Redis, []string{lock}, holder)
	// Another node may have finished between the check and the lock.
	if n, err := r.Redis.Exists(ctx, done).Result(); err != nil || n > 0 {
		return false, PurgeResult{}, err
	}
	res, err := r.DB.Purge(ctx, r.Plan(time.Now()))
	if err != nil {
		return false, res, err
	}
	if err := r.Redis.Set(ctx, done, time.Now().UTC().Format(time.RFC3339), purgeEvery).Err(); err != nil {
		return true, res, err
	}
	return true, res, nil
}

// Run checks every `every` until ctx ends, the first time five minutes
// after start (a node that is restarted does not purge on its way up).
func (r *Retention) Run(ctx context.Context, every time.Duration) {
	t := time.NewTimer(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ran, res, err := r.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			r.Log.Error("retention purge", "err", err)
		case ran:
			r.Log.Info("retention purge", "deleted", res.String())
		}
		t.Reset(every)
	}
}
