package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/chatd/chatd/chat"
)

// Escalate closes an open chat into a new open ticket of the same unit whose
// first entry is the chat's transcript, all in one transaction, once per
// client_id. It returns the chat as it is afterwards; its TicketID names the
// ticket.
func (db *DB) Escalate(ctx context.Context, e chat.Escalation) (*chat.Chat, chat.Outcome, error) {
	if e.ClientID != "" {
		if ok, err := db.Seen(ctx, e.Principal, e.ClientID); err != nil || ok {
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
		c, err := getChat(ctx, tx, db.rebind("SELECT "+chatCols+" FROM chats WHERE id = ?"), e.ChatID)
		if err != nil {
			return err
		}
		if !c.Open() {
			return errNotApplied
		}
		var email string
		if err := tx.GetContext(ctx, &email, db.rebind("SELECT email FROM visitors WHERE id = ?"), c.VisitorID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, db.rebind(`UPDATE chats SET status = 'escalated', ticket_id = ?, closed_at = ?, close_reason = 'escalated',
			last_activity_at = ? WHERE id = ? AND status IN ('queued', 'active')`), ticketID, t, t, e.ChatID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNotApplied
		}
		if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO tickets (id, unit, status, subject, requester, visitor_id, email, chat_id, priority, created_at, updated_at, last_activity_at)
			VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?)`), ticketID, c.Unit, e.Subject, "visitor:"+c.VisitorID, c.VisitorID, email, c.ID, c.Priority, t, t, t); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO ticket_messages (id, ticket_id, author_kind, author_id, author_name, text, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), uuid.NewString(), ticketID, e.By.Kind, e.By.ID, e.By.Name, e.Transcript, t); err != nil {
			return err
		}
		if e.ClientID == "" {
			return nil
		}
		_, err = tx.ExecContext(ctx, db.rebind("INSERT INTO requests (principal, client_id, chat_id, created_at) VALUES (?, ?, ?, ?)"),
			e.Principal, e.ClientID, e.ChatID, t)
		return err
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
