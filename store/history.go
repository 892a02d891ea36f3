package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/chatd/chatd/chat"
)

type HistoryItem = chat.HistoryItem

// VisitorHistory lists a visitor's chats and tickets, newest first, limit a
// page, of the given units (nil: every unit). Pages are keyed by
// (created_at, kind, id).
func (db *DB) VisitorHistory(ctx context.Context, visitorID string, units []string, cursorStr string, limit int) ([]HistoryItem, string, error) {
	if units != nil && len(units) == 0 {
		return []HistoryItem{}, "", nil
	}
	var cms int64
	var ckind, cid string
	if cursorStr != "" {
		var err error
		if cms, ckind, cid, err = parseHistoryCursor(cursorStr); err != nil {
			return nil, "", err
		}
	}
	// The sort key of an item is (created_at, kind, id), descending; the
	// cursor excludes it and everything before it.
	page := func(table, kind, cols string) ([]HistoryItem, error) {
		q := "SELECT " + cols + " FROM " + table + " WHERE visitor_id = ?"
		args := []any{visitorID}
		if units != nil {
			q += " AND unit IN (?" + strings.Repeat(", ?", len(units)-1) + ")"
			for _, u := range units {
				args = append(args, u)
			}
		}
		if cursorStr != "" {
			if kind < ckind {
				q += " AND created_at <= ?"
				args = append(args, cms)
			} else if kind == ckind {
				q += " AND (created_at < ? OR (created_at = ? AND id < ?))"
				args = append(args, cms, cms, cid)
			} else {
				q += " AND created_at < ?"
				args = append(args, cms)
			}
		}
		q += " ORDER BY created_at DESC, id DESC LIMIT ?"
		args = append(args, limit+1)
		var rows []struct {
			ID         string         `db:"id"`
			Unit       string         `db:"unit"`
			Status     string         `db:"status"`
			Subject    sql.NullString `db:"subject"`
			Text       sql.NullString `db:"text"`
			TicketID   sql.NullString `db:"ticket_id"`
			MergedInto sql.NullString `db:"merged_into"`
			CreatedAt  int64          `db:"created_at"`
		}
		if err := db.x.SelectContext(ctx, &rows, db.rebind(q), args...); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		out := make([]HistoryItem, len(rows))
		for i, r := range rows {
			out[i] = HistoryItem{Kind: kind, ID: r.ID, Unit: r.Unit, Status: r.Status, Subject: r.Subject.String, Text: chat.Cut(r.Text.String, 200),
				TicketID: r.TicketID.String, MergedInto: r.MergedInto.String, CreatedAt: msTime(r.CreatedAt)}
		}
		return out, nil
	}
	chats, err := page("chats", "chat", `id, unit, status, NULL AS subject, ticket_id, NULL AS merged_into, created_at,
		(SELECT text FROM messages WHERE messages.chat_id = chats.id AND kind = 'message' AND seq = 1) AS text`)
	if err != nil {
		return nil, "", err
	}
	tickets, err := page("tickets", "ticket", "id, unit, status, subject, NULL AS text, NULL AS ticket_id, merged_into, created_at")
	if err != nil {
		return nil, "", err
	}
	all := append(chats, tickets...)
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if am, bm := a.CreatedAt.UnixMilli(), b.CreatedAt.UnixMilli(); am != bm {
			return am > bm
		}
		if a.Kind != b.Kind {
			return a.Kind > b.Kind
		}
		return a.ID > b.ID
	})
	next := ""
	if len(all) > limit {
		all = all[:limit]
		last := all[len(all)-1]
		next = cursor(last.CreatedAt.UnixMilli(), last.Kind+"_"+last.ID)
	}
	return all, next, nil
}

type ChatRecord = chat.ChatRecord

// ChatRecord reads the visitor, the rating comment and the agents' names of
// a chat, for its transcript.
func (db *DB) ChatRecord(ctx context.Context, c *chat.Chat) (*ChatRecord, error) {
	rec := &ChatRecord{AgentNames: map[string]string{}}
	v, err := db.Visitor(ctx, c.VisitorID)
	if err != nil {
		return nil, err
	}
	rec.Visitor = v
	if err := db.x.GetContext(ctx, &rec.RatingComment, db.rebind("SELECT rating_comment FROM chats WHERE id = ?"), c.ID); err != nil {
		return nil, fmt.Errorf("chat record: %w", err)
	}
	var agents []struct {
		ID   string `db:"id"`
		Name string `db:"name"`
	}
	if err := db.x.SelectContext(ctx, &agents, db.rebind(`SELECT id, name FROM agents WHERE id IN (
		SELECT agent_id FROM assignments WHERE chat_id = ? UNION SELECT from_agent_id FROM assignments WHERE chat_id = ?
		UNION SELECT sender_id FROM messages WHERE chat_id = ? AND sender_kind = 'agent' UNION SELECT agent_id FROM chats WHERE id = ?)`),
		c.ID, c.ID, c.ID, c.ID); err != nil {
		return nil, fmt.Errorf("chat record: %w", err)
	}
	for _, a := range agents {
		rec.AgentNames[a.ID] = a.Name
	}
	return rec, nil
}

// parseHistoryCursor reads a history page's cursor: the sort key of the
// last item shown (created_at, kind, id).
func parseHistoryCursor(c string) (int64, string, string, error) {
	ms, rest, err := parseCursor(c)
	k, id, ok := strings.Cut(rest, "_")
	if err != nil || !ok || (k != "chat" && k != "ticket") || id == "" {
		return 0, "", "", chat.Errorf(chat.EInvalid, "cursor is not valid")
	}
	return ms, k, id, nil
}
