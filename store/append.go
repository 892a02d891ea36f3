package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
)

var errSeqConflict = errors.New("sequence moved under the batch")

// AppendBatch stores a batch of messages in one transaction (group commit).
// The usual batch (writers allowed, no client_id seen before) takes the fast
// path: one update advances and locks every chat and one insert writes the
// messages. Anything else takes the careful path: one query finds
// client_ids seen before, one reads and locks the chats, one
// compare-and-set update advances the sequences, one insert writes what is
// new, and each request gets its own outcome. Sequences stay gapless and
// equal on every node. Results are in request order.
func (db *DB) AppendBatch(ctx context.Context, reqs []chat.AppendRequest) []chat.AppendResult {
	res := make([]chat.AppendResult, len(reqs))
	if db.appendFast(ctx, reqs, res) == nil {
		return res
	}
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		clear(res)
		if err = db.appendOnce(ctx, reqs, res); err == nil {
			return res
		}
		if !errors.Is(err, errSeqConflict) && !isUniqueViolation(err) && !isBusy(err) {
			break
		}
	}
	if len(reqs) > 1 && ctx.Err() == nil {
		// One request the database refuses must not fail its neighbours:
		// each is stored on its own, in order, and gets its own outcome.
		for i := range reqs {
			res[i] = db.AppendBatch(ctx, reqs[i:i+1])[0]
		}
		return res
	}
	for i := range res {
		if res[i].Err == nil {
			res[i] = chat.AppendResult{Err: fmt.Errorf("append: %w", err)}
		}
	}
	return res
}

// errFallback sends a batch from the fast path to the careful one.
var errFallback = errors.New("batch needs the careful path")

// appendFast stores the batch when every request is new and allowed, in
// four round trips (begin, update, insert, commit); otherwise it changes
// nothing and returns an error.
func (db *DB) appendFast(ctx context.Context, reqs []chat.AppendRequest, res []chat.AppendResult) error {
	type counts struct{ seq, note int64 }
	per := make(map[string]*counts, len(reqs))
	var ids []string
	seen := make(map[reqKey]bool, len(reqs))
	for _, r := range reqs {
		k := reqKey{r.ChatID, r.ClientID}
		if seen[k] {
			return errFallback
		}
		seen[k] = true
		c := per[r.ChatID]
		if c == nil {
			c = &counts{}
			per[r.ChatID] = c
			ids = append(ids, r.ChatID)
		}
		if r.Kind == chat.KindNote {
			c.note++
		} else {
			c.seq++
		}
	}
	var seqCase, noteCase strings.Builder
	var seqArgs, noteArgs, idArgs []any
	for _, id := range ids {
		seqCase.WriteString(" WHEN ? THEN ?")
		noteCase.WriteString(" WHEN ? THEN ?")
		seqArgs = append(seqArgs, id, per[id].seq)
		noteArgs = append(noteArgs, id, per[id].note)
		idArgs = append(idArgs, id)
	}
	tx, err := db.x.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var rows []*chatSeq
	if err := tx.SelectContext(ctx, &rows, db.rebind("UPDATE chats SET last_seq = last_seq + CASE id"+seqCase.String()+" ELSE 0 END, last_note = last_note + CASE id"+
		noteCase.String()+" ELSE 0 END WHERE id IN (?"+strings.Repeat(", ?", len(ids)-1)+") RETURNING id, visitor_id, agent_id, status, unit, last_seq, last_note"),
		slices.Concat(seqArgs, noteArgs, idArgs)...); err != nil {
		return err
	}
	if len(rows) != len(ids) {
		return errFallback
	}
	chats := make(map[string]*chatSeq, len(rows))
	for _, c := range rows {
		c.newSeq, c.newNote = c.LastSeq-per[c.ID].seq, c.LastNote-per[c.ID].note // where they stood
		chats[c.ID] = c
	}
	t := now()
	msgArgs := make([]any, 0, 9*len(reqs))
	for i, r := range reqs {
		c := chats[r.ChatID]
		if mayAppend(c, r) != nil {
			return errFallback
		}
		var m chat.Message
		m, msgArgs = c.take(r, t, msgArgs)
		res[i] = chat.AppendResult{Message: m}
	}
	if _, err := tx.ExecContext(ctx, db.rebind("INSERT INTO messages (chat_id, kind, seq, sender_kind, sender_id, sender_name, text, client_id, created_at) VALUES "+
		placeholders(len(reqs), 9)), msgArgs...); err != nil {
		return err // a client_id seen before: the careful path finds it
	}
	return tx.Commit()
}

// reqKey identifies a message by its chat and the client's id for it.
type reqKey struct{ chatID, clientID string }

type chatSeq struct {
	ID        string  `db:"id"`
	VisitorID string  `db:"visitor_id"`
	AgentID   *string `db:"agent_id"`
	Status    string  `db:"status"`
	Unit      string  `db:"unit"`
	LastSeq   int64   `db:"last_seq"`
	LastNote  int64   `db:"last_note"`
	newSeq    int64
	newNote   int64
}

// take gives r the chat's next seq of its kind and returns the message
// with args extended by its row for the insert.
func (c *chatSeq) take(r chat.AppendRequest, t int64, args []any) (chat.Message, []any) {
	var seq int64
	if r.Kind == chat.KindNote {
		c.newNote++
		seq = c.newNote
	} else {
		c.newSeq++
		seq = c.newSeq
	}
	m := chat.Message{ChatID: r.ChatID, Kind: r.Kind, Seq: seq, From: r.From, Text: r.Text, At: msTime(t)}
	return m, append(args, r.ChatID, r.Kind, seq, r.From.Kind, r.From.ID, r.From.Name, r.Text, r.ClientID, t)
}

func (db *DB) appendOnce(ctx context.Context, reqs []chat.AppendRequest, res []chat.AppendResult) error {
	tx, err := db.x.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	prior, err := db.priorRequests(ctx, tx, reqs)
	if err != nil {
		return err
	}
	chats, err := db.lockChats(ctx, tx, reqs)
	if err != nil {
		return err
	}
	t := now()
	firstOf := make(map[reqKey]int, len(reqs))
	var msgArgs []any
	for i, r := range reqs {
		k := reqKey{r.ChatID, r.ClientID}
		if p, ok := prior[k]; ok {
			switch err := mayAppend(chats[r.ChatID], r); {
			case p.SenderID == r.From.ID: // a resend: the same answer again
				res[i] = chat.AppendResult{Duplicate: true, Message: chat.Message{ChatID: p.ChatID, Seq: p.Seq, Kind: r.Kind}}
			case err != nil && chat.ErrorCode(err) != chat.EChatClosed:
				res[i].Err = err // someone else's message is none of theirs
			default:
				res[i].Err = chat.Errorf(chat.EConflict, "client_id already used in this chat by someone else")
			}
			continue
		}
		if j, ok := firstOf[k]; ok {
			res[i] = chat.AppendResult{Duplicate: true, Message: res[j].Message}
			continue
		}
		firstOf[k] = i
		c := chats[r.ChatID]
		if err := mayAppend(c, r); err != nil {
			res[i].Err = err
			continue
		}
		res[i].Message, msgArgs = c.take(r, t, msgArgs)
	}
	if len(msgArgs) == 0 {
		return tx.Commit()
	}
	if err := db.advance(ctx, tx, chats); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, db.rebind("INSERT INTO messages (chat_id, kind, seq, sender_kind, sender_id, sender_name, text, client_id, created_at) VALUES "+
		placeholders(len(msgArgs)/9, 9)), msgArgs...); err != nil {
		return err
	}
	return tx.Commit()
}

// priorRequests finds the batch's messages already stored, by chat and
// client_id.
func (db *DB) priorRequests(ctx context.Context, tx *sqlx.Tx, reqs []chat.AppendRequest) (map[reqKey]priorMessage, error) {
	args := make([]any, 0, 2*len(reqs))
	for _, r := range reqs {
		args = append(args, r.ChatID, r.ClientID)
	}
	var rows []struct {
		ClientID string `db:"client_id"`
		priorMessage
	}
	if err := tx.SelectContext(ctx, &rows, db.rebind("SELECT chat_id, client_id, seq, sender_id FROM messages WHERE (chat_id, client_id) IN ("+
		placeholders(len(reqs), 2)+")"), args...); err != nil {
		return nil, err
	}
	out := make(map[reqKey]priorMessage, len(rows))
	for _, r := range rows {
		out[reqKey{r.ChatID, r.ClientID}] = r.priorMessage
	}
	return out, nil
}

// priorMessage is a stored message a client_id already made, and who sent it.
type priorMessage struct {
	prior
	SenderID string `db:"sender_id"`
}

// lockChats reads, and locks, the chats the batch writes to.
func (db *DB) lockChats(ctx context.Context, tx *sqlx.Tx, reqs []chat.AppendRequest) (map[string]*chatSeq, error) {
	var ids []any
	seen := map[string]bool{}
	for _, r := range reqs {
		if !seen[r.ChatID] {
			seen[r.ChatID] = true
			ids = append(ids, r.ChatID)
		}
	}
	// On PostgreSQL the rows are locked, in id order so two batches never
	// deadlock; SQLite's write lock, taken at BEGIN, already serialises writers.
	lock := ""
	if db.engine == Postgres {
		lock = " FOR UPDATE"
	}
	var rows []*chatSeq
	if err := tx.SelectContext(ctx, &rows, db.rebind("SELECT id, visitor_id, agent_id, status, unit, last_seq, last_note FROM chats WHERE id IN (?"+
		strings.Repeat(", ?", len(ids)-1)+") ORDER BY id"+lock), ids...); err != nil {
		return nil, err
	}
	out := make(map[string]*chatSeq, len(rows))
	for _, c := range rows {
		c.newSeq, c.newNote = c.LastSeq, c.LastNote
		out[c.ID] = c
	}
	return out, nil
}

// advance moves every touched chat's sequences in one compare-and-set.
// Only the sequence columns change, none of them indexed, so PostgreSQL
// can update the row in place; a chat's last activity is its close time.
func (db *DB) advance(ctx context.Context, tx *sqlx.Tx, chats map[string]*chatSeq) error {
	var seqCase, noteCase, where strings.Builder
	var seqArgs, noteArgs, whereArgs []any
	n := 0
	for _, c := range chats {
		if c.newSeq == c.LastSeq && c.newNote == c.LastNote {
			continue
		}
		seqCase.WriteString(" WHEN ? THEN ?")
		seqArgs = append(seqArgs, c.ID, c.newSeq)
		noteCase.WriteString(" WHEN ? THEN ?")
		noteArgs = append(noteArgs, c.ID, c.newNote)
		if n > 0 {
			where.WriteString(" OR ")
		}
		where.WriteString("(id = ? AND last_seq = ? AND last_note = ?)")
		whereArgs = append(whereArgs, c.ID, c.LastSeq, c.LastNote)
		n++
	}
	q := "UPDATE chats SET last_seq = CASE id" + seqCase.String() + " ELSE last_seq END, last_note = CASE id" + noteCase.String() +
		" ELSE last_note END WHERE " + where.String()
	args := slices.Concat(seqArgs, noteArgs, whereArgs)
	r, err := tx.ExecContext(ctx, db.rebind(q), args...)
	if err != nil {
		return err
	}
	if got, _ := r.RowsAffected(); got != int64(n) {
		return errSeqConflict
	}
	return nil
}

// mayAppend says whether r's writer may add to chat c now: the access
// policy's rule, applied to the row this transaction holds.
func mayAppend(c *chatSeq, r chat.AppendRequest) error {
	if c == nil {
		return chat.Errorf(chat.ENotFound, "no such chat")
	}
	agent := ""
	if c.AgentID != nil {
		agent = *c.AgentID
	}
	return access.MayWrite(r.Who, r.Kind, &chat.Chat{ID: c.ID, VisitorID: c.VisitorID, AgentID: agent, Status: c.Status, Unit: c.Unit})
}

// placeholders makes "(?, ?), (?, ?)" for rows of cols values.
func placeholders(rows, cols int) string {
	one := "(?" + strings.Repeat(", ?", cols-1) + ")"
	return one + strings.Repeat(", "+one, rows-1)
}

func isBusy(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked") ||
		strings.Contains(err.Error(), "SQLSTATE 40001") || strings.Contains(err.Error(), "SQLSTATE 40P01"))
}
