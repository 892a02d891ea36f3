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
// Keys older than ttl are forgotten.
func (db *DB) BeginIdempotent(ctx context.Context, scope, key, hash string, ttl time.Duration) (*StoredAnswer, error) {
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
	err = db.x.GetContext(ctx, &a, db.rebind("SELECT request_hash, status, body FROM idempotency_keys WHERE scope = ? AND key = ?"), scope, key)
	if errors.Is(err, sql.ErrNoRows) { // forgotten a moment ago: try once more
		return db.BeginIdempotent(ctx, scope, key, hash, ttl)
	}
	if err != nil {
		return nil, fmt.Errorf("idempotency: %w", err)
	}
	return &a, nil
}

// FinishIdempotent stores the answer of the request that claimed the key.
func (db *DB) FinishIdempotent(ctx context.Context, scope, key string, status int, body string) error {
	if _, err := db.x.ExecContext(ctx, db.rebind("UPDATE idempotency_keys SET status = ?, body = ? WHERE scope = ? AND key = ?"), status, body, scope, key); err != nil {
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
