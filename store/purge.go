package store

import (
	"context"
	"fmt"
	"time"

	"github.com/chatd/chatd/chat"
)

// PurgeResult counts what Purge deleted.
type PurgeResult struct{ Chats, Tickets int64 }

// Purge deletes finished chats (with their messages) and tickets whose last
// activity is before cutoff, and writes one audit row saying so. Open chats
// and open tickets are kept whatever their age.
func (db *DB) Purge(ctx context.Context, cutoff time.Time) (PurgeResult, error) {
	var res PurgeResult
	tx, err := db.x.BeginTxx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("purge: %w", err)
	}
	defer tx.Rollback()
	c := cutoff.UnixMilli()
	r, err := tx.ExecContext(ctx, db.rebind(`DELETE FROM tickets WHERE last_activity_at < ? AND status IN ('solved', 'closed')`), c)
	if err != nil {
		return res, fmt.Errorf("purge tickets: %w", err)
	}
	res.Tickets, _ = r.RowsAffected()
	r, err = tx.ExecContext(ctx, db.rebind(`DELETE FROM chats WHERE closed_at < ? AND last_activity_at < ? AND status IN ('closed', 'escalated')`), c, c)
	if err != nil {
		return res, fmt.Errorf("purge chats: %w", err)
	}
	res.Chats, _ = r.RowsAffected()
	if _, err := tx.ExecContext(ctx, db.rebind(`DELETE FROM requests WHERE created_at < ?`), c); err != nil {
		return res, fmt.Errorf("purge requests: %w", err)
	}
	if err := db.insertAudit(ctx, tx, AuditEntry{ActorKind: chat.KindSystem, ActorID: "purge", Action: "purge", ObjectKind: "records",
		Detail: fmt.Sprintf("cutoff=%s chats=%d tickets=%d", cutoff.UTC().Format(time.RFC3339), res.Chats, res.Tickets)}); err != nil {
		return res, err
	}
	return res, tx.Commit()
}
