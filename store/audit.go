package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/chatd/chatd/chat"
)

// AuditEntry is one row of the access and change log.
type AuditEntry = chat.AuditEntry

// Audit writes one audit row.
func (db *DB) Audit(ctx context.Context, e AuditEntry) error {
	return db.insertAudit(ctx, db.x, e)
}

// insertAudit writes an audit row through q: the database, or the
// transaction whose change the row records.
func (db *DB) insertAudit(ctx context.Context, q sqlx.ExecerContext, e AuditEntry) error {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if _, err := q.ExecContext(ctx, db.rebind(`INSERT INTO audit (id, at, actor_kind, actor_id, action, object_kind, object_id, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), e.ID, now(), e.ActorKind, e.ActorID, e.Action, e.ObjectKind, e.ObjectID, e.Detail); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditLog lists audit rows newest first: limit of them, after the cursor
// (the last row of the previous page, "" for the first page).
func (db *DB) AuditLog(ctx context.Context, limit int, cursor string) ([]AuditEntry, error) {
	q := "SELECT id, at, actor_kind, actor_id, action, object_kind, object_id, detail FROM audit"
	args := []any{}
	if cursor != "" {
		ms, id, ok := strings.Cut(cursor, "_")
		at, err := strconv.ParseInt(ms, 10, 64)
		if !ok || err != nil {
			return nil, chat.Errorf(chat.EInvalid, "cursor is not valid")
		}
		q += " WHERE at < ? OR (at = ? AND id > ?)"
		args = append(args, at, at, id)
	}
	q += " ORDER BY at DESC, id LIMIT ?"
	args = append(args, limit)
	var rows []AuditEntry
	if err := db.x.SelectContext(ctx, &rows, db.rebind(q), args...); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	for i := range rows {
		rows[i].At = time.UnixMilli(rows[i].AtMS).UTC()
	}
	return rows, nil
}
