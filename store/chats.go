package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/chatd/chatd/chat"
)

type chatRow struct {
	ID          string         `db:"id"`
	VisitorID   string         `db:"visitor_id"`
	Unit        string         `db:"unit"`
	Status      string         `db:"status"`
	Priority    int            `db:"priority"`
	AgentID     sql.NullString `db:"agent_id"`
	LastSeq     int64          `db:"last_seq"`
	LastNote    int64          `db:"last_note"`
	CloseReason string         `db:"close_reason"`
	TicketID    sql.NullString `db:"ticket_id"`
	Rating      sql.NullInt64  `db:"rating"`
	CreatedAt   int64          `db:"created_at"`
	AssignedAt  sql.NullInt64  `db:"assigned_at"`
	ClosedAt    sql.NullInt64  `db:"closed_at"`
	LastActive  int64          `db:"last_activity_at"`
	ClosedByK   string         `db:"closed_by_kind"`
	ClosedByID  string         `db:"closed_by_id"`
	ClosedByN   string         `db:"closed_by_name"`
}

const chatCols = "id, visitor_id, unit, status, priority, agent_id, last_seq, last_note, close_reason, ticket_id, rating, created_at, assigned_at, closed_at, last_activity_at, closed_by_kind, closed_by_id, closed_by_name"

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullTime(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := msTime(n.Int64)
	return &t
}

func (r chatRow) chat() *chat.Chat {
	c := &chat.Chat{
		ID: r.ID, VisitorID: r.VisitorID, Unit: r.Unit, Status: r.Status, Priority: r.Priority,
		AgentID: r.AgentID.String, LastSeq: r.LastSeq, LastNote: r.LastNote, CloseReason: r.CloseReason,
		TicketID: r.TicketID.String, Rating: int(r.Rating.Int64), CreatedAt: msTime(r.CreatedAt),
		AssignedAt: nullTime(r.AssignedAt), ClosedAt: nullTime(r.ClosedAt), LastActive: msTime(r.LastActive),
	}
	if r.ClosedByK != "" {
		c.ClosedBy = &chat.Sender{Kind: r.ClosedByK, ID: r.ClosedByID, Name: r.ClosedByN}
	}
	return c
}

type messageRow struct {
	ChatID     string `db:"chat_id"`
	Kind       string `db:"kind"`
	Seq        int64  `db:"seq"`
	SenderKind string `db:"sender_kind"`
	SenderID   string `db:"sender_id"`
	SenderName string `db:"sender_name"`
	Text       string `db:"text"`
	CreatedAt  int64  `db:"created_at"`
}

func (r messageRow) message() chat.Message {
	return chat.Message{ChatID: r.ChatID, Kind: r.Kind, Seq: r.Seq, Text: r.Text, At: msTime(r.CreatedAt),
		From: chat.Sender{Kind: r.SenderKind, ID: r.SenderID, Name: r.SenderName}}
}

// CreateVisitor stores a new visitor.
func (db *DB) CreateVisitor(ctx context.Context, v *chat.Visitor) error {
	if v.ID == "" {
		v.ID = uuid.NewString()
	}
	t := now()
	v.CreatedAt = msTime(t)
	if _, err := db.x.ExecContext(ctx, db.rebind("INSERT INTO visitors (id, name, email, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)"),
		v.ID, v.Name, v.Email, t, t); err != nil {
		return fmt.Errorf("create visitor: %w", err)
	}
	return nil
}

// Visitor finds a visitor by id.
func (db *DB) Visitor(ctx context.Context, id string) (*chat.Visitor, error) {
	return db.visitorWhere(ctx, "v.id = ?", id)
}

// Chat finds a chat by id.
func (db *DB) Chat(ctx context.Context, id string) (*chat.Chat, error) {
	return getChat(ctx, db.x, db.rebind("SELECT "+chatCols+" FROM chats WHERE id = ?"), id)
}

// OpenChat returns the visitor's queued or active chat, or ENotFound.
func (db *DB) OpenChat(ctx context.Context, visitorID string) (*chat.Chat, error) {
	return getChat(ctx, db.x, db.rebind("SELECT "+chatCols+" FROM chats WHERE visitor_id = ? AND status IN ('queued', 'active')"), visitorID)
}

func getChat(ctx context.Context, q sqlx.QueryerContext, query string, args ...any) (*chat.Chat, error) {
	var r chatRow
	err := sqlx.GetContext(ctx, q, &r, query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.Errorf(chat.ENotFound, "no such chat")
	}
	if err != nil {
		return nil, fmt.Errorf("get chat: %w", err)
	}
	return r.chat(), nil
}

// OpenChats lists every queued or active chat, oldest first.
func (db *DB) OpenChats(ctx context.Context) ([]*chat.Chat, error) {
	var rows []chatRow
	if err := db.x.SelectContext(ctx, &rows, "SELECT "+chatCols+" FROM chats WHERE status IN ('queued', 'active') ORDER BY created_at, id"); err != nil {
		return nil, fmt.Errorf("open chats: %w", err)
	}
	out := make([]*chat.Chat, len(rows))
	for i, r := range rows {
		out[i] = r.chat()
	}
	return out, nil
}

// AgentChats lists an agent's active chats, oldest first.
func (db *DB) AgentChats(ctx context.Context, agentID string) ([]*chat.Chat, error) {
	var rows []chatRow
	if err := db.x.SelectContext(ctx, &rows, db.rebind("SELECT "+chatCols+" FROM chats WHERE agent_id = ? AND status = 'active' ORDER BY created_at"), agentID); err != nil {
		return nil, fmt.Errorf("agent chats: %w", err)
	}
	out := make([]*chat.Chat, len(rows))
	for i, r := range rows {
		out[i] = r.chat()
	}
	return out, nil
}

// StartChat creates a queued chat with its first message (seq 1) in one
// transaction. Duplicate: the client_id was seen before, and the chat it
// made is returned; Refused: the visitor already has an open chat, which is
// returned (the database's unique index keeps one open chat per visitor
// across nodes).
func (db *DB) StartChat(ctx context.Context, r chat.StartRequest) (*chat.Chat, chat.Outcome, error) {
	earlier := func() (*chat.Chat, chat.Outcome, error) {
		prev, ok, err := db.request(ctx, r.Who.Key(), r.ClientID)
		if err != nil {
			return nil, chat.Refused, err
		}
		if ok {
			c, err := db.Chat(ctx, prev.ChatID)
			return c, chat.Duplicate, err
		}
		c, err := db.OpenChat(ctx, r.Visitor.ID)
		return c, chat.Refused, err
	}
	// No lookup first: a client_id seen before, or an open chat, fails the
	// insert on a unique index, and only then is the earlier answer read.
	t := now()
	id := uuid.NewString()
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		// A name or email given replaces the visitor's; one not given
		// leaves theirs as it is.
		var set []string
		var args []any
		if r.Visitor.Name != "" {
			set, args = append(set, "name = ?"), append(args, r.Visitor.Name)
		}
		if r.Visitor.Email != "" {
			set, args = append(set, "email = ?"), append(args, r.Visitor.Email)
		}
		if len(set) > 0 {
			if _, err := tx.ExecContext(ctx, db.rebind("UPDATE visitors SET "+strings.Join(set, ", ")+", last_seen_at = ? WHERE id = ?"),
				append(args, t, r.Visitor.ID)...); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO chats (id, visitor_id, unit, status, priority, last_seq, created_at, last_activity_at)
			VALUES (?, ?, ?, 'queued', ?, 1, ?, ?)`), id, r.Visitor.ID, r.Unit, r.Priority, t, t); err != nil {
			return err
		}
		// The first message is the visitor's under the name the request
		// gives, else the one on their record.
		if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO messages (chat_id, kind, seq, sender_kind, sender_id, sender_name, text, client_id, created_at)
			VALUES (?, 'message', 1, 'visitor', ?, COALESCE(NULLIF(?, ''), (SELECT name FROM visitors WHERE id = ?), ''), ?, ?, ?)`),
			id, r.Visitor.ID, r.Visitor.Name, r.Visitor.ID, r.Text, r.ClientID, t); err != nil {
			return err
		}
		return db.recordRequest(ctx, tx, r.Who, r.ClientID, id, 1, t)
	})
	if isUniqueViolation(err) {
		// The same client_id on another node, or an open chat already.
		return earlier()
	}
	if err != nil {
		return nil, chat.Refused, fmt.Errorf("start chat: %w", err)
	}
	return &chat.Chat{ID: id, VisitorID: r.Visitor.ID, Unit: r.Unit, Status: chat.StatusQueued, Priority: r.Priority,
		LastSeq: 1, CreatedAt: msTime(t), LastActive: msTime(t)}, chat.Applied, nil
}

// prior is what a client_id already produced.
type prior struct {
	ChatID string `db:"chat_id"`
	Seq    int64  `db:"seq"`
}

// request looks up a client_id already applied.
func (db *DB) request(ctx context.Context, principal, clientID string) (prior, bool, error) {
	var p prior
	err := db.x.GetContext(ctx, &p, db.rebind("SELECT chat_id, seq FROM requests WHERE principal = ? AND client_id = ?"), principal, clientID)
	if errors.Is(err, sql.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("request lookup: %w", err)
	}
	return p, true, nil
}

// recordRequest remembers, in the transaction that applied it, that who's
// client_id was applied (to chatID, making seq): a resend then finds it,
// and a second node applying the same one at once fails on the key.
func (db *DB) recordRequest(ctx context.Context, tx *sqlx.Tx, who chat.Principal, clientID, chatID string, seq, t int64) error {
	_, err := tx.ExecContext(ctx, db.rebind("INSERT INTO requests (principal, client_id, chat_id, seq, created_at) VALUES (?, ?, ?, ?, ?)"),
		who.Key(), clientID, chatID, seq, t)
	return err
}

func (db *DB) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.x.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Messages returns a chat's messages (or notes) with seq > after, in order,
// at most limit of them (0: all).
func (db *DB) Messages(ctx context.Context, chatID, kind string, after int64, limit int) ([]chat.Message, error) {
	q := "SELECT chat_id, kind, seq, sender_kind, sender_id, sender_name, text, created_at FROM messages WHERE chat_id = ? AND kind = ? AND seq > ? ORDER BY seq"
	args := []any{chatID, kind, after}
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	var rows []messageRow
	if err := db.x.SelectContext(ctx, &rows, db.rebind(q), args...); err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	out := make([]chat.Message, len(rows))
	for i, r := range rows {
		out[i] = r.message()
	}
	return out, nil
}

// Transit applies t once per client_id and returns the chat as it is
// afterwards. Refused means the chat was not in a From state (the caller
// says why).
func (db *DB) Transit(ctx context.Context, t chat.Transition) (*chat.Chat, chat.Outcome, error) {
	c, _, outcome, err := db.transit(ctx, t, false)
	return c, outcome, err
}

// Assign is Transit for a move that gives the chat an agent: it also
// returns the chat's visitor, read by the same statement, for the agent's
// first look at the chat.
func (db *DB) Assign(ctx context.Context, t chat.Transition) (*chat.Chat, *chat.Visitor, chat.Outcome, error) {
	return db.transit(ctx, t, true)
}

// transitRow is a chat row as an update returned it, with its visitor's
// name and email when asked for.
type transitRow struct {
	chatRow
	VisitorName  sql.NullString `db:"visitor_name"`
	VisitorEmail sql.NullString `db:"visitor_email"`
	VisitorUser  sql.NullString `db:"visitor_user_id"`
	VisitorSince sql.NullInt64  `db:"visitor_created_at"`
}

func (db *DB) transit(ctx context.Context, t chat.Transition, withVisitor bool) (*chat.Chat, *chat.Visitor, chat.Outcome, error) {
	if t.ClientID != "" {
		if _, ok, err := db.request(ctx, t.Who.Key(), t.ClientID); err != nil || ok {
			if err != nil {
				return nil, nil, chat.Refused, err
			}
			c, err := db.Chat(ctx, t.ChatID)
			return c, nil, chat.Duplicate, err
		}
	}
	ms := now()
	set := []string{"status = ?", "last_activity_at = ?"}
	args := []any{t.To, ms}
	if t.AgentID != nil {
		if *t.AgentID == "" {
			set = append(set, "agent_id = NULL", "assigned_at = NULL")
		} else {
			set = append(set, "agent_id = ?", "assigned_at = ?")
			args = append(args, *t.AgentID, ms)
		}
	}
	if t.Unit != "" {
		set, args = append(set, "unit = ?"), append(args, t.Unit)
	}
	if t.To == chat.StatusClosed || t.To == chat.StatusEscalated {
		by := t.Who.Closer()
		set = append(set, "closed_at = ?", "close_reason = ?", "closed_by_kind = ?", "closed_by_id = ?", "closed_by_name = ?")
		args = append(args, ms, t.Reason, by.Kind, by.ID, by.Name)
	}
	args = append(args, t.ChatID)
	for _, f := range t.From {
		args = append(args, f)
	}
	update := "UPDATE chats SET " + strings.Join(set, ", ") + " WHERE id = ? AND status IN (?" + strings.Repeat(", ?", len(t.From)-1) + ")"
	visitorCols := ", (SELECT name FROM visitors WHERE visitors.id = c.visitor_id) AS visitor_name" +
		", (SELECT email FROM visitors WHERE visitors.id = c.visitor_id) AS visitor_email" +
		", (SELECT external_id FROM visitors WHERE visitors.id = c.visitor_id) AS visitor_user_id" +
		", (SELECT created_at FROM visitors WHERE visitors.id = c.visitor_id) AS visitor_created_at"
	var q string
	var recArgs []any
	inline := db.engine == Postgres && len(t.Records) > 0
	switch {
	case inline:
		// One statement moves the chat and writes why: the records are
		// inserted only when the update applied.
		var sel string
		sel, recArgs = recordSelects(t.Records, ms)
		q = "WITH c AS (" + update + " RETURNING " + chatCols + "), r AS (INSERT INTO assignments (" + recordCols + ") " + sel + ") SELECT " + chatCols
		if withVisitor {
			q += visitorCols
		}
		q += " FROM c"
		args = append(args, recArgs...)
	case withVisitor:
		q = update + " RETURNING " + chatCols + strings.ReplaceAll(visitorCols, "c.visitor_id", "chats.visitor_id")
	default:
		q = update + " RETURNING " + chatCols
	}
	q = db.rebind(q)
	var row transitRow
	var err error
	if t.ClientID == "" && (inline || len(t.Records) == 0) {
		// One statement, no transaction around it: a single round trip.
		err = db.x.GetContext(ctx, &row, q, args...)
	} else {
		err = db.inTx(ctx, func(tx *sqlx.Tx) error {
			if err := tx.GetContext(ctx, &row, q, args...); err != nil {
				return err
			}
			if !inline && len(t.Records) > 0 {
				if err := insertRecords(ctx, tx, db, t.ChatID, t.Records, ms); err != nil {
					return err
				}
			}
			if t.ClientID == "" {
				return nil
			}
			return db.recordRequest(ctx, tx, t.Who, t.ClientID, t.ChatID, 0, ms)
		})
	}
	switch {
	case err == nil:
		c := row.chat()
		var v *chat.Visitor
		if withVisitor {
			v = &chat.Visitor{ID: c.VisitorID, Name: row.VisitorName.String, Email: row.VisitorEmail.String, UserID: row.VisitorUser.String}
			if row.VisitorSince.Valid {
				v.CreatedAt = msTime(row.VisitorSince.Int64)
			}
		}
		return c, v, chat.Applied, nil
	case errors.Is(err, sql.ErrNoRows): // not in a From state: say how it is
		c, err := db.Chat(ctx, t.ChatID)
		return c, nil, chat.Refused, err
	case isUniqueViolation(err): // the same client_id raced in on another node
		c, err := db.Chat(ctx, t.ChatID)
		return c, nil, chat.Duplicate, err
	}
	return nil, nil, chat.Refused, fmt.Errorf("chat %s -> %s: %w", t.ChatID, t.To, err)
}

// Seen reports whether a client_id was already applied for principal.
func (db *DB) Seen(ctx context.Context, principal, clientID string) (bool, error) {
	_, ok, err := db.request(ctx, principal, clientID)
	return ok, err
}

// Rate records a visitor's satisfaction rating of their own chat once per
// client_id.
func (db *DB) Rate(ctx context.Context, who chat.Principal, clientID, chatID string, rating int, comment string) error {
	if _, ok, err := db.request(ctx, who.Key(), clientID); err != nil || ok {
		return err
	}
	return db.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, db.rebind("UPDATE chats SET rating = ?, rating_comment = ? WHERE id = ? AND visitor_id = ?"),
			rating, comment, chatID, who.VisitorID)
		if err != nil {
			return fmt.Errorf("rate: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return chat.Errorf(chat.ENotFound, "no such chat")
		}
		err = db.recordRequest(ctx, tx, who, clientID, chatID, 0, now())
		if isUniqueViolation(err) {
			return nil
		}
		return err
	})
}
