package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// SetFirstReply stamps a ticket's first reply at at, as if a reply came then.
func (db *DB) SetFirstReply(ctx context.Context, ticketID string, at time.Time) error {
	_, err := db.x.ExecContext(ctx, db.rebind("UPDATE tickets SET first_reply_at = ? WHERE id = ?"), at.UnixMilli(), ticketID)
	return err
}

// SeedTickets writes n tickets straight to the table, many rows a
// statement, for the benchmarks: unit and status chosen by pick(i),
// created one second apart.
func (db *DB) SeedTickets(ctx context.Context, n int, pick func(i int) (unit, status string)) error {
	const batch = 500
	base := now() - int64(n)*1000
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		var args []any
		for i := start; i < end; i++ {
			unit, status := pick(i)
			t := base + int64(i)*1000
			args = append(args, uuid.NewString(), unit, status, fmt.Sprintf("request %d", i), fmt.Sprintf("email:c%d@example.com", i),
				fmt.Sprintf("c%d@example.com", i), t, t, t)
		}
		q := "INSERT INTO tickets (id, unit, status, subject, requester, email, created_at, updated_at, last_activity_at) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?), ", end-start), ", ")
		if _, err := db.x.ExecContext(ctx, db.rebind(q), args...); err != nil {
			return fmt.Errorf("seed tickets: %w", err)
		}
	}
	if db.engine == Postgres {
		_, err := db.x.ExecContext(ctx, "ANALYZE tickets")
		return err
	}
	_, err := db.x.ExecContext(ctx, "ANALYZE")
	return err
}

// ExecForTest runs a statement behind the store's back: tests use it to
// age rows and to tamper with the audit log as an intruder would.
func (db *DB) ExecForTest(ctx context.Context, q string, args ...any) error {
	_, err := db.x.ExecContext(ctx, db.rebind(q), args...)
	return err
}

// AuditHashForTest is the hash the chain gives a row.
func AuditHashForTest(e AuditEntry) string { return auditHash(e) }
