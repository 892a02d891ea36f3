package store

import (
	"context"
	"encoding/json"
	"fmt"

	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/chatd/chatd/chat"
)

const recordCols = "id, chat_id, at, kind, unit, agent_id, from_agent_id, rule, waited_ms, candidates, by_kind, by_id"

// recordArgs are one record's values in recordCols order, at ms unless it
// has a time of its own.
func recordArgs(r chat.AssignmentRecord, ms int64) ([]any, error) {
	if r.ID == "" {
		// Time-ordered and increasing within the process: records of one
		// move, stored in the same millisecond, read back in their order.
		id, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("assignment record: %w", err)
		}
		r.ID = id.String()
	}
	if !r.At.IsZero() {
		ms = r.At.UnixMilli()
	}
	cands := r.Candidates
	if cands == nil {
		cands = []chat.Candidate{}
	}
	b, err := json.Marshal(cands)
	if err != nil {
		return nil, fmt.Errorf("assignment record: %w", err)
	}
	return []any{r.ID, r.ChatID, ms, r.Kind, r.Unit, r.AgentID, r.FromAgentID, r.Rule, r.WaitedMS, string(b), r.ByKind, r.ByID}, nil
}

// recordSelects renders records as SELECTs of typed values joined by UNION
// ALL, to insert from a data-modifying WITH: only rows of the CTE c (the
// updated chat) produce them.
func recordSelects(recs []chat.AssignmentRecord, ms int64) (string, []any) {
	one := "SELECT ?, c.id, CAST(? AS BIGINT), ?, ?, ?, ?, ?, CAST(? AS BIGINT), ?, ?, ? FROM c"
	parts := make([]string, 0, len(recs))
	var args []any
	for _, r := range recs {
		a, err := recordArgs(r, ms)
		if err != nil {
			continue // candidates are plain values: cannot fail
		}
		a = append(a[:1:1], a[2:]...) // the chat id comes from c
		parts = append(parts, one)
		args = append(args, a...)
	}
	return strings.Join(parts, " UNION ALL "), args
}

// insertRecords writes a chat's records in one statement of tx.
func insertRecords(ctx context.Context, tx *sqlx.Tx, db *DB, chatID string, recs []chat.AssignmentRecord, ms int64) error {
	args := make([]any, 0, 12*len(recs))
	for _, r := range recs {
		r.ChatID = chatID
		a, err := recordArgs(r, ms)
		if err != nil {
			return err
		}
		args = append(args, a...)
	}
	if _, err := tx.ExecContext(ctx, db.rebind("INSERT INTO assignments ("+recordCols+") VALUES "+placeholders(len(recs), 12)), args...); err != nil {
		return fmt.Errorf("record assignments: %w", err)
	}
	return nil
}

// RecordAssignments stores assignment records, many in one statement.
func (db *DB) RecordAssignments(ctx context.Context, recs []chat.AssignmentRecord) error {
	if len(recs) == 0 {
		return nil
	}
	args := make([]any, 0, 12*len(recs))
	for _, r := range recs {
		a, err := recordArgs(r, now())
		if err != nil {
			return fmt.Errorf("record assignments: %w", err)
		}
		args = append(args, a...)
	}
	if _, err := db.x.ExecContext(ctx, db.rebind(`INSERT INTO assignments (`+recordCols+`)
		VALUES `+placeholders(len(recs), 12)), args...); err != nil {
		return fmt.Errorf("record assignments: %w", err)
	}
	return nil
}

// Assignments lists a chat's assignment records, oldest first.
func (db *DB) Assignments(ctx context.Context, chatID string) ([]chat.AssignmentRecord, error) {
	var rows []struct {
		ID          string `db:"id"`
		ChatID      string `db:"chat_id"`
		At          int64  `db:"at"`
		Kind        string `db:"kind"`
		Unit        string `db:"unit"`
		AgentID     string `db:"agent_id"`
		FromAgentID string `db:"from_agent_id"`
		Rule        string `db:"rule"`
		WaitedMS    int64  `db:"waited_ms"`
		Candidates  string `db:"candidates"`
		ByKind      string `db:"by_kind"`
		ByID        string `db:"by_id"`
	}
	if err := db.x.SelectContext(ctx, &rows, db.rebind(`SELECT id, chat_id, at, kind, unit, agent_id, from_agent_id, rule, waited_ms, candidates, by_kind, by_id
		FROM assignments WHERE chat_id = ? ORDER BY at, id`), chatID); err != nil {
		return nil, fmt.Errorf("assignments: %w", err)
	}
	out := make([]chat.AssignmentRecord, len(rows))
	for i, r := range rows {
		out[i] = chat.AssignmentRecord{ID: r.ID, ChatID: r.ChatID, At: msTime(r.At), Kind: r.Kind, Unit: r.Unit, AgentID: r.AgentID,
			FromAgentID: r.FromAgentID, Rule: r.Rule, WaitedMS: r.WaitedMS, ByKind: r.ByKind, ByID: r.ByID}
		if err := json.Unmarshal([]byte(r.Candidates), &out[i].Candidates); err != nil {
			return nil, fmt.Errorf("assignments of %s: candidates: %w", chatID, err)
		}
	}
	return out, nil
}

// Answered reports whether staff wrote a message in the chat at or after
// since: the chat's first response came.
func (db *DB) Answered(ctx context.Context, chatID string, since time.Time) (bool, error) {
	var n int
	if err := db.x.GetContext(ctx, &n, db.rebind("SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE chat_id = ? AND kind = 'message' AND sender_kind = 'agent' AND created_at >= ? LIMIT 1) x"),
		chatID, since.UnixMilli()); err != nil {
		return false, fmt.Errorf("answered %s: %w", chatID, err)
	}
	return n > 0, nil
}

// AwaitsAnswer reports whether the chat's last message is the visitor's:
// someone still owes them an answer.
func (db *DB) AwaitsAnswer(ctx context.Context, chatID string) (bool, error) {
	var kinds []string
	if err := db.x.SelectContext(ctx, &kinds, db.rebind("SELECT sender_kind FROM messages WHERE chat_id = ? AND kind = 'message' ORDER BY seq DESC LIMIT 1"), chatID); err != nil {
		return false, fmt.Errorf("awaits answer %s: %w", chatID, err)
	}
	return len(kinds) == 1 && kinds[0] == chat.FromVisitor, nil
}
