package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// AuditEntry is one row of the access and change log.
type AuditEntry struct {
	ID         string    `json:"id" db:"id"`
	At         time.Time `json:"at" db:"-"`
	AtMS       int64     `json:"-" db:"at"`
	ActorKind  string    `json:"actor_kind" db:"actor_kind"`
	ActorID    string    `json:"actor_id" db:"actor_id"`
	Action     string    `json:"action" db:"action"`
	ObjectKind string    `json:"object_kind" db:"object_kind"`
	ObjectID   string    `json:"object_id" db:"object_id"`
	Detail     string    `json:"detail,omitempty" db:"detail"`
}

// Audit writes one audit row.
func (db *DB) Audit(ctx context.Context, e AuditEntry) error {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if _, err := db.x.ExecContext(ctx, db.rebind(`INSERT INTO audit (id, at, actor_kind, actor_id, action, object_kind, object_id, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), e.ID, now(), e.ActorKind, e.ActorID, e.Action, e.ObjectKind, e.ObjectID, e.Detail); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditLog lists audit rows newest first, before the cursor time when given.
func (db *DB) AuditLog(ctx context.Context, limit int, beforeMS int64) ([]AuditEntry, error) {
	if beforeMS <= 0 {
		beforeMS = 1<<62 - 1
	}
	var rows []AuditEntry
	if err := db.x.SelectContext(ctx, &rows, db.rebind(`SELECT id, at, actor_kind, actor_id, action, object_kind, object_id, detail
		FROM audit WHERE at < ? ORDER BY at DESC, id LIMIT ?`), beforeMS, limit); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	for i := range rows {
		rows[i].At = time.UnixMilli(rows[i].AtMS).UTC()
	}
	return rows, nil
}
