package store

import "context"

// ExecForTest runs a statement behind the store's back: tests use it to
// age rows and to tamper with the audit log as an intruder would.
func (db *DB) ExecForTest(ctx context.Context, q string, args ...any) error {
	_, err := db.x.ExecContext(ctx, db.rebind(q), args...)
	return err
}

// AuditHashForTest is the hash the chain gives a row.
func AuditHashForTest(e AuditEntry) string { return auditHash(e) }
