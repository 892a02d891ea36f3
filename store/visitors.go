package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/chatd/chatd/chat"
)

type visitorRow struct {
	ID         string         `db:"id"`
	Name       string         `db:"name"`
	Email      string         `db:"email"`
	CreatedAt  int64          `db:"created_at"`
	ExternalID sql.NullString `db:"external_id"`
}

const visitorRowCols = "v.id, v.name, v.email, v.created_at, v.external_id"

func (r visitorRow) visitor() *chat.Visitor {
	return &chat.Visitor{ID: r.ID, Name: r.Name, Email: r.Email, CreatedAt: msTime(r.CreatedAt), UserID: r.ExternalID.String}
}

func (db *DB) visitorWhere(ctx context.Context, where string, args ...any) (*chat.Visitor, error) {
	var r visitorRow
	err := db.x.GetContext(ctx, &r, db.rebind("SELECT "+visitorRowCols+" FROM visitors v WHERE "+where), args...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.Errorf(chat.ENotFound, "no such visitor")
	}
	if err != nil {
		return nil, fmt.Errorf("get visitor: %w", err)
	}
	return r.visitor(), nil
}

// IdentifiedVisitor returns the visitor a site knows as userID (verified by
// the caller), making it on first sight with name and email: every device
// of that customer gets the same visitor.
func (db *DB) IdentifiedVisitor(ctx context.Context, userID, name, email string) (*chat.Visitor, error) {
	v, err := db.visitorWhere(ctx, "v.external_id = ?", userID)
	if chat.ErrorCode(err) != chat.ENotFound {
		return v, err
	}
	t := now()
	_, err = db.x.ExecContext(ctx, db.rebind("INSERT INTO visitors (id, name, email, created_at, last_seen_at, external_id) VALUES (?, ?, ?, ?, ?, ?)"),
		uuid.NewString(), name, email, t, t, userID)
	if err != nil && !isUniqueViolation(err) { // another device of theirs made it a moment before
		return nil, fmt.Errorf("create visitor: %w", err)
	}
	return db.visitorWhere(ctx, "v.external_id = ?", userID)
}

// CreateVisitorToken stores a new token of the visitor (a device) and
// returns its id.
func (db *DB) CreateVisitorToken(ctx context.Context, visitorID string) (string, error) {
	id := randomHex(16)
	t := now()
	if _, err := db.x.ExecContext(ctx, db.rebind("INSERT INTO visitor_tokens (id, visitor_id, created_at, last_used_at) VALUES (?, ?, ?, ?)"),
		id, visitorID, t, t); err != nil {
		return "", fmt.Errorf("create visitor token: %w", err)
	}
	return id, nil
}

// VisitorToken returns the visitor holding token id and its last use, in
// one read.
func (db *DB) VisitorToken(ctx context.Context, id string) (*chat.Visitor, time.Time, error) {
	var r struct {
		visitorRow
		LastUsed int64 `db:"last_used_at"`
	}
	err := db.x.GetContext(ctx, &r, db.rebind("SELECT "+visitorRowCols+", t.last_used_at FROM visitor_tokens t JOIN visitors v ON v.id = t.visitor_id WHERE t.id = ?"), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, chat.Errorf(chat.ENotFound, "no such visitor token")
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("visitor token: %w", err)
	}
	return r.visitor(), msTime(r.LastUsed), nil
}

// TouchVisitorToken records a use of the token at t (never moving it back).
func (db *DB) TouchVisitorToken(ctx context.Context, id string, t time.Time) error {
	if _, err := db.x.ExecContext(ctx, db.rebind("UPDATE visitor_tokens SET last_used_at = ? WHERE id = ? AND last_used_at < ?"),
		t.UnixMilli(), id, t.UnixMilli()); err != nil {
		return fmt.Errorf("touch visitor token: %w", err)
	}
	return nil
}

// RevokeVisitorToken deletes one token: it verifies nowhere from now on.
func (db *DB) RevokeVisitorToken(ctx context.Context, id string) error {
	if _, err := db.x.ExecContext(ctx, db.rebind("DELETE FROM visitor_tokens WHERE id = ?"), id); err != nil {
		return fmt.Errorf("revoke visitor token: %w", err)
	}
	return nil
}

// RevokeVisitorTokens deletes every token of a visitor (erasure) and
// returns their ids, for live chat to close the sockets opened with them.
func (db *DB) RevokeVisitorTokens(ctx context.Context, visitorID string) ([]string, error) {
	var ids []string
	if err := db.x.SelectContext(ctx, &ids, db.rebind("SELECT id FROM visitor_tokens WHERE visitor_id = ?"), visitorID); err != nil {
		return nil, fmt.Errorf("visitor tokens: %w", err)
	}
	if _, err := db.x.ExecContext(ctx, db.rebind("DELETE FROM visitor_tokens WHERE visitor_id = ?"), visitorID); err != nil {
		return nil, fmt.Errorf("revoke visitor tokens: %w", err)
	}
	return ids, nil
}
