package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/chatd/chatd/chat"
)

var errNotApplied = errors.New("not applied")

// Escalate closes an open chat into a new open ticket of the same unit, all
// in one transaction, once per client_id. With the chat row locked it reads
// the chat's messages and asks render for the ticket's subject and first
// entry (the transcript): a message stored a moment before is in it, and
// none can be stored after it. It returns the chat as it is afterwards;
// its TicketID names the ticket.
func (db *DB) Escalate(ctx context.Context, e chat.Escalation, render func(*chat.Chat, []chat.Message) (subject, text string)) (*chat.Chat, chat.Outcome, error) {
	if e.ClientID != "" {
		if _, ok, err := db.request(ctx, e.Who.Key(), e.ClientID); err != nil || ok {
			if err != nil {
				return nil, chat.Refused, err
			}
			c, err := db.Chat(ctx, e.ChatID)
			return c, chat.Duplicate, err
		}
	}
	ticketID := uuid.NewString()
	t := now()
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		// SQLite's write lock, taken at BEGIN, already holds off every
		// other writer; PostgreSQL locks the row.
		lock := ""
		if db.engine == Postgres {
			lock = " FOR UPDATE"
		}
		c, err := getChat(ctx, tx, db.rebind("SELECT "+chatCols+" FROM chats WHERE id = ?"+lock), e.ChatID)
		if err != nil {
			return err
		}
		if !c.Open() {
			return errNotApplied
		}
		var rows []messageRow
		if err := tx.SelectContext(ctx, &rows, db.rebind(`SELECT chat_id, kind, seq, sender_kind, sender_id, sender_name, text, created_at
			FROM messages WHERE chat_id = ? AND kind = 'message' ORDER BY seq`), c.ID); err != nil {
			return err
		}
		msgs := make([]chat.Message, len(rows))
		for i, r := range rows {
			msgs[i] = r.message()
		}
		subject, text := render(c, msgs)
		var email string
		if err := tx.GetContext(ctx, &email, db.rebind("SELECT email FROM visitors WHERE id = ?"), c.VisitorID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.rebind(`UPDATE chats SET status = 'escalated', ticket_id = ?, closed_at = ?, close_reason = 'escalated',
			last_activity_at = ? WHERE id = ?`), ticketID, t, t, e.ChatID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO tickets (id, unit, status, subject, requester, visitor_id, email, chat_id, priority, created_at, updated_at, last_activity_at)
			VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?)`), ticketID, c.Unit, subject, "visitor:"+c.VisitorID, c.VisitorID, email, c.ID, c.Priority, t, t, t); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO ticket_messages (id, ticket_id, author_kind, author_id, author_name, text, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), uuid.NewString(), ticketID, e.By.Kind, e.By.ID, e.By.Name, text, t); err != nil {
			return err
		}
		if e.ClientID == "" {
			return nil
		}
		return db.recordRequest(ctx, tx, e.Who, e.ClientID, e.ChatID, 0, t)
	})
	outcome := chat.Applied
	switch {
	case err == errNotApplied:
		outcome = chat.Refused
	case isUniqueViolation(err):
		outcome = chat.Duplicate
	case err != nil:
		return nil, chat.Refused, fmt.Errorf("escalate %s: %w", e.ChatID, err)
	}
	c, err := db.Chat(ctx, e.ChatID)
	return c, outcome, err
}

// CountTickets counts every ticket.
func (db *DB) CountTickets(ctx context.Context) (int, error) {
	var n int
	if err := db.x.GetContext(ctx, &n, "SELECT COUNT(*) FROM tickets"); err != nil {
		return 0, fmt.Errorf("count tickets: %w", err)
	}
	return n, nil
}
