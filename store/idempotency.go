package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/chatd/chatd/chat"
)

type StoredAnswer = chat.StoredAnswer

// BeginIdempotent claims (scope, key) for a request whose hash is hash.
// It returns nil when the caller is first (and must Finish or Abandon), or
// the answer already stored (Status 0: the first request is still running).
// Keys older than ttl are forgotten. A claim still running after lease is
// taken to have died with its node (a crash between claim and answer): the
// same request then takes it over, so a retry is not refused for a day.
func (db *DB) BeginIdempotent(ctx context.Context, scope, key, hash string, ttl, lease time.Duration) (*StoredAnswer, error) {
	t := now()
	if _, err := db.x.ExecContext(ctx, db.rebind("DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND created_at < ?"), scope, key, t-ttl.Milliseconds()); err != nil {
		return nil, fmt.Errorf("idempotency: %w", err)
	}
	_, err := db.x.ExecContext(ctx, db.rebind("INSERT INTO idempotency_keys (scope, key, status, body, request_hash, created_at) VALUES (?, ?, 0, '', ?, ?)"),
		scope, key, hash, t)
	if err == nil {
		return nil, nil
	}
	if !isUniqueViolation(err) {
		return nil, fmt.Errorf("idempotency: %w", err)
	}
	var a StoredAnswer
	err = db.x.GetContext(ctx, &a, db.rebind("SELECT request_hash, status, body, secret, created_at FROM idempotency_keys WHERE scope = ? AND key = ?"), scope, key)
	if errors.Is(err, sql.ErrNoRows) { // forgotten a moment ago: try once more
		return db.BeginIdempotent(ctx, scope, key, hash, ttl, lease)
	}
	if err != nil {
		return nil, fmt.Errorf("idempotency: %w", err)
	}
	if a.Status == 0 && a.RequestHash == hash && a.ClaimedMS < t-lease.Milliseconds() {
		// Take the stale claim over; of several retries at once, one wins.
		res, err := db.x.ExecContext(ctx, db.rebind("UPDATE idempotency_keys SET created_at = ? WHERE scope = ? AND key = ? AND status = 0 AND created_at = ?"),
			t, scope, key, a.ClaimedMS)
		if err != nil {
			return nil, fmt.Errorf("idempotency: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil, nil
		}
		a.ClaimedMS = t
	}
	return &a, nil
}

// FinishIdempotent stores the answer of the request that claimed the key;
// secret marks an answer whose secret body has been taken out.
func (db *DB) FinishIdempotent(ctx context.Context, scope, key string, status int, body string, secret bool) error {
	s := 0
	if secret {
		s = 1
	}
	if _, err := db.x.ExecContext(ctx, db.rebind("UPDATE idempotency_keys SET status = ?, body = ?, secret = ? WHERE scope = ? AND key = ? AND status = 0"),
		status, body, s, scope, key); err != nil {
		return fmt.Errorf("idempotency: %w", err)
	}
	return nil
}

// AbandonIdempotent forgets a claim whose request failed on the server's
// side, so a retry runs it again.
func (db *DB) AbandonIdempotent(ctx context.Context, scope, key string) error {
	if _, err := db.x.ExecContext(ctx, db.rebind("DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND status = 0"), scope, key); err != nil {
		return fmt.Errorf("idempotency: %w", err)
	}
	return nil
}
