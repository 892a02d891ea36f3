package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/chatd/chatd/chat"
)

type CannedReply = chat.CannedReply

// CannedReplies lists the standard replies of the given units (nil: every
// unit) and those of every unit, optionally in one language.
func (db *DB) CannedReplies(ctx context.Context, units []string, lang string) ([]*CannedReply, error) {
	q := "SELECT id, unit, lang, title, text, updated_at FROM canned_replies WHERE 1 = 1"
	var args []any
	if units != nil {
		if len(units) == 0 {
			q += " AND unit = ''"
		} else {
			q += " AND (unit = '' OR unit IN (?" + strings.Repeat(", ?", len(units)-1) + "))"
		}
		for _, u := range units {
			args = append(args, u)
		}
	}
	if lang != "" {
		q, args = q+" AND lang = ?", append(args, lang)
	}
	var out []*CannedReply
	if err := db.x.SelectContext(ctx, &out, db.rebind(q+" ORDER BY unit, lang, title, id"), args...); err != nil {
		return nil, fmt.Errorf("canned replies: %w", err)
	}
	for _, c := range out {
		c.UpdatedAt = msTime(c.UpdatedMS)
	}
	return out, nil
}

// CannedReply finds one standard reply.
func (db *DB) CannedReply(ctx context.Context, id string) (*CannedReply, error) {
	var c CannedReply
	err := db.x.GetContext(ctx, &c, db.rebind("SELECT id, unit, lang, title, text, updated_at FROM canned_replies WHERE id = ?"), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.Errorf(chat.ENotFound, "no such standard reply")
	}
	if err != nil {
		return nil, fmt.Errorf("canned reply: %w", err)
	}
	c.UpdatedAt = msTime(c.UpdatedMS)
	return &c, nil
}

// SaveCannedReply creates (empty ID) or updates a standard reply.
func (db *DB) SaveCannedReply(ctx context.Context, c *CannedReply) error {
	t := now()
	c.UpdatedMS, c.UpdatedAt = t, msTime(t)
	if c.ID == "" {
		c.ID = uuid.NewString()
		_, err := db.x.ExecContext(ctx, db.rebind("INSERT INTO canned_replies (id, unit, lang, title, text, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
			c.ID, c.Unit, c.Lang, c.Title, c.Text, t, t)
		if err != nil {
			return fmt.Errorf("create canned reply: %w", err)
		}
		return nil
	}
	res, err := db.x.ExecContext(ctx, db.rebind("UPDATE canned_replies SET unit = ?, lang = ?, title = ?, text = ?, updated_at = ? WHERE id = ?"),
		c.Unit, c.Lang, c.Title, c.Text, t, c.ID)
	if err != nil {
		return fmt.Errorf("update canned reply: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return chat.Errorf(chat.ENotFound, "no such standard reply")
	}
	return nil
}

// DeleteCannedReply removes a standard reply.
func (db *DB) DeleteCannedReply(ctx context.Context, id string) error {
	res, err := db.x.ExecContext(ctx, db.rebind("DELETE FROM canned_replies WHERE id = ?"), id)
	if err != nil {
		return fmt.Errorf("delete canned reply: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return chat.Errorf(chat.ENotFound, "no such standard reply")
	}
	return nil
}
