package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/chatd/chatd/chat"
)

// RecordAssignments stores assignment records, many in one statement.
func (db *DB) RecordAssignments(ctx context.Context, recs []chat.AssignmentRecord) error {
	if len(recs) == 0 {
		return nil
	}
	args := make([]any, 0, 12*len(recs))
	for _, r := range recs {
		if r.ID == "" {
			r.ID = uuid.NewString()
		}
		at := r.At.UnixMilli()
		if r.At.IsZero() {
			at = now()
		}
		cands := r.Candidates
		if cands == nil {
			cands = []chat.Candidate{}
		}
		b, err := json.Marshal(cands)
		if err != nil {
			return fmt.Errorf("record assignments: %w", err)
		}
		args = append(args, r.ID, r.ChatID, at, r.Kind, r.Unit, r.AgentID, r.FromAgentID, r.Rule, r.WaitedMS, string(b), r.ByKind, r.ByID)
	}
	if _, err := db.x.ExecContext(ctx, db.rebind(`INSERT INTO assignments (id, chat_id, at, kind, unit, agent_id, from_agent_id, rule, waited_ms, candidates, by_kind, by_id)
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
