package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/chatd/chatd/chat"
)

type agentRow struct {
	ID           string `db:"id"`
	Email        string `db:"email"`
	Name         string `db:"name"`
	PasswordHash string `db:"password_hash"`
	Role         string `db:"role"`
	Units        string `db:"units"`
	MaxChats     int    `db:"max_chats"`
	Disabled     int    `db:"disabled"`
	CreatedAt    int64  `db:"created_at"`
	UpdatedAt    int64  `db:"updated_at"`
}

const agentCols = "id, email, name, password_hash, role, units, max_chats, disabled, created_at, updated_at"

func (r agentRow) agent() *chat.Agent {
	var units []string
	if r.Units != "" {
		units = strings.Split(r.Units, ",")
	}
	return &chat.Agent{
		ID: r.ID, Email: r.Email, Name: r.Name, PasswordHash: r.PasswordHash, Role: r.Role,
		Units: units, MaxChats: r.MaxChats, Disabled: r.Disabled != 0, CreatedAt: time.UnixMilli(r.CreatedAt).UTC(),
	}
}

// CreateAgent stores a new staff member; a used email is EConflict.
func (db *DB) CreateAgent(ctx context.Context, a *chat.Agent) error {
	if a.ID == "" {
		a.ID = uuid.NewString()
	}
	t := now()
	a.CreatedAt = time.UnixMilli(t).UTC()
	_, err := db.x.ExecContext(ctx, db.rebind(`INSERT INTO agents (`+agentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		a.ID, strings.ToLower(a.Email), a.Name, a.PasswordHash, a.Role, strings.Join(a.Units, ","), a.MaxChats, boolInt(a.Disabled), t, t)
	if isUniqueViolation(err) {
		return chat.Errorf(chat.EConflict, "an agent with email %q exists", a.Email)
	}
	if err != nil {
		return fmt.Errorf("create agent: %w", err)
	}
	return nil
}

// UpdateAgent writes every mutable field of a.
func (db *DB) UpdateAgent(ctx context.Context, a *chat.Agent) error {
	res, err := db.x.ExecContext(ctx, db.rebind(`UPDATE agents SET name = ?, password_hash = ?, role = ?, units = ?, max_chats = ?, disabled = ?, updated_at = ? WHERE id = ?`),
		a.Name, a.PasswordHash, a.Role, strings.Join(a.Units, ","), a.MaxChats, boolInt(a.Disabled), now(), a.ID)
	if err != nil {
		return fmt.Errorf("update agent: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return chat.Errorf(chat.ENotFound, "no agent %s", a.ID)
	}
	return nil
}

// Agent finds a staff member by id.
func (db *DB) Agent(ctx context.Context, id string) (*chat.Agent, error) {
	return db.agentWhere(ctx, "id = ?", id)
}

// AgentByEmail finds a staff member by email, case-insensitively.
func (db *DB) AgentByEmail(ctx context.Context, email string) (*chat.Agent, error) {
	return db.agentWhere(ctx, "email = ?", strings.ToLower(email))
}

func (db *DB) agentWhere(ctx context.Context, where string, arg any) (*chat.Agent, error) {
	var r agentRow
	err := db.x.GetContext(ctx, &r, db.rebind("SELECT "+agentCols+" FROM agents WHERE "+where), arg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.Errorf(chat.ENotFound, "no such agent")
	}
	if err != nil {
		return nil, fmt.Errorf("get agent: %w", err)
	}
	return r.agent(), nil
}

// Agents lists every staff member by email.
func (db *DB) Agents(ctx context.Context) ([]*chat.Agent, error) {
	var rows []agentRow
	if err := db.x.SelectContext(ctx, &rows, "SELECT "+agentCols+" FROM agents ORDER BY email"); err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	out := make([]*chat.Agent, len(rows))
	for i, r := range rows {
		out[i] = r.agent()
	}
	return out, nil
}

// CountAgents counts staff members, to tell an empty installation.
func (db *DB) CountAgents(ctx context.Context) (int, error) {
	var n int
	if err := db.x.GetContext(ctx, &n, "SELECT COUNT(*) FROM agents"); err != nil {
		return 0, fmt.Errorf("count agents: %w", err)
	}
	return n, nil
}

// CreateSession stores a login session and returns its bearer token. Only
// the token's hash is stored.
func (db *DB) CreateSession(ctx context.Context, agentID string, ttl time.Duration) (string, error) {
	token := "s_" + randomHex(32)
	t := now()
	if _, err := db.x.ExecContext(ctx, db.rebind("INSERT INTO sessions (token_hash, agent_id, created_at, expires_at) VALUES (?, ?, ?, ?)"),
		hashToken(token), agentID, t, t+ttl.Milliseconds()); err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return token, nil
}

// SessionAgent returns the enabled agent holding a live session token.
func (db *DB) SessionAgent(ctx context.Context, token string) (*chat.Agent, error) {
	var r agentRow
	err := db.x.GetContext(ctx, &r, db.rebind(`SELECT a.id, a.email, a.name, a.password_hash, a.role, a.units, a.max_chats, a.disabled, a.created_at, a.updated_at
		FROM sessions s JOIN agents a ON a.id = s.agent_id WHERE s.token_hash = ? AND s.expires_at > ? AND a.disabled = 0`), hashToken(token), now())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.Errorf(chat.EUnauthorized, "session expired or unknown")
	}
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	return r.agent(), nil
}

// DeleteSession ends a login session.
func (db *DB) DeleteSession(ctx context.Context, token string) error {
	if _, err := db.x.ExecContext(ctx, db.rebind("DELETE FROM sessions WHERE token_hash = ?"), hashToken(token)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteAgentSessions ends every session of an agent (on disable).
func (db *DB) DeleteAgentSessions(ctx context.Context, agentID string) error {
	if _, err := db.x.ExecContext(ctx, db.rebind("DELETE FROM sessions WHERE agent_id = ?"), agentID); err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	return nil
}

// CreateAPIKey stores a new integrator key and returns its id and the key,
// which is shown once; only its hash is kept.
func (db *DB) CreateAPIKey(ctx context.Context, name string) (id, key string, err error) {
	id = uuid.NewString()
	key = "ck_" + randomHex(24)
	if _, err := db.x.ExecContext(ctx, db.rebind("INSERT INTO api_keys (id, name, key_hash, created_at) VALUES (?, ?, ?, ?)"),
		id, name, hashToken(key), now()); err != nil {
		return "", "", fmt.Errorf("create api key: %w", err)
	}
	return id, key, nil
}

// APIKey returns a live key, or EUnauthorized.
func (db *DB) APIKey(ctx context.Context, key string) (*chat.APIKey, error) {
	var r apiKeyRow
	err := db.x.GetContext(ctx, &r, db.rebind("SELECT id, name, units, created_at, revoked_at FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL"), hashToken(key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.Errorf(chat.EUnauthorized, "unknown api key")
	}
	if err != nil {
		return nil, fmt.Errorf("api key: %w", err)
	}
	return r.key(), nil
}

// LiveSessions reports which of the session tokens are still live: not
// ended, not expired, of an enabled account.
func (db *DB) LiveSessions(ctx context.Context, tokens []string) (map[string]bool, error) {
	if len(tokens) == 0 {
		return map[string]bool{}, nil
	}
	byHash := make(map[string]string, len(tokens))
	args := []any{now()}
	for _, t := range tokens {
		h := hashToken(t)
		byHash[h] = t
		args = append(args, h)
	}
	var hashes []string
	if err := db.x.SelectContext(ctx, &hashes, db.rebind(`SELECT s.token_hash FROM sessions s JOIN agents a ON a.id = s.agent_id
		WHERE s.expires_at > ? AND a.disabled = 0 AND s.token_hash IN (?`+strings.Repeat(", ?", len(tokens)-1)+")"), args...); err != nil {
		return nil, fmt.Errorf("live sessions: %w", err)
	}
	out := make(map[string]bool, len(hashes))
	for _, h := range hashes {
		out[byHash[h]] = true
	}
	return out, nil
}

// Secret returns the installation's signing secret, creating it once. Every
// node of a cluster reads the same one, so visitor tokens verify anywhere.
func (db *DB) Secret(ctx context.Context) ([]byte, error) {
	var v string
	err := db.x.GetContext(ctx, &v, db.rebind("SELECT value FROM settings WHERE key = ?"), "token_secret")
	if errors.Is(err, sql.ErrNoRows) {
		_, err = db.x.ExecContext(ctx, db.rebind("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"), "token_secret", randomHex(32))
		if err != nil {
			return nil, fmt.Errorf("create secret: %w", err)
		}
		err = db.x.GetContext(ctx, &v, db.rebind("SELECT value FROM settings WHERE key = ?"), "token_secret")
	}
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return hex.DecodeString(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505") || strings.Contains(s, "duplicate key value")
}
