package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/chatd/chatd/chat"
)

// CreateUnitAPIKey stores a new integrator key limited to units (none: every
// unit) and returns it with the key, which is shown once; only its hash is
// kept.
func (db *DB) CreateUnitAPIKey(ctx context.Context, name string, units []string) (*chat.APIKey, string, error) {
	id := uuid.NewString()
	key := "ck_" + randomHex(24)
	t := now()
	if _, err := db.x.ExecContext(ctx, db.rebind("INSERT INTO api_keys (id, name, key_hash, units, created_at) VALUES (?, ?, ?, ?, ?)"),
		id, name, hashToken(key), strings.Join(units, ","), t); err != nil {
		return nil, "", fmt.Errorf("create api key: %w", err)
	}
	return &chat.APIKey{ID: id, Name: name, Units: nonNil(units), CreatedAt: msTime(t)}, key, nil
}

type apiKeyRow struct {
	ID        string        `db:"id"`
	Name      string        `db:"name"`
	Units     string        `db:"units"`
	CreatedAt int64         `db:"created_at"`
	RevokedAt sql.NullInt64 `db:"revoked_at"`
}

func (r apiKeyRow) key() *chat.APIKey {
	var units []string
	if r.Units != "" {
		units = strings.Split(r.Units, ",")
	}
	return &chat.APIKey{ID: r.ID, Name: r.Name, Units: nonNil(units), CreatedAt: msTime(r.CreatedAt), RevokedAt: nullTime(r.RevokedAt)}
}

// APIKeys lists every key (revoked ones too), newest first; never the keys.
func (db *DB) APIKeys(ctx context.Context) ([]*chat.APIKey, error) {
	var rows []apiKeyRow
	if err := db.x.SelectContext(ctx, &rows, "SELECT id, name, units, created_at, revoked_at FROM api_keys ORDER BY created_at DESC, id"); err != nil {
		return nil, fmt.Errorf("api keys: %w", err)
	}
	out := make([]*chat.APIKey, len(rows))
	for i, r := range rows {
		out[i] = r.key()
	}
	return out, nil
}

// RevokeAPIKey ends a key: from now on it is unauthorized.
func (db *DB) RevokeAPIKey(ctx context.Context, id string) error {
	res, err := db.x.ExecContext(ctx, db.rebind("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"), now(), id)
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return chat.Errorf(chat.ENotFound, "no such live api key")
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
