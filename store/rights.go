package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/chatd/chatd/chat"
)

// The customer's rights in the database: reading everything held about a
// visitor, and erasing it. Text of theirs can sit in more places than
// their chats and tickets: a ticket entry merged into someone else's
// ticket, a webhook delivery's body, a stored answer to an
// Idempotency-Key. Erasure reaches those too.

// VisitorsByEmail returns the ids of the visitors who gave email (case
// folded), oldest first.
func (db *DB) VisitorsByEmail(ctx context.Context, email string) ([]string, error) {
	var ids []string
	if err := db.x.SelectContext(ctx, &ids, db.rebind("SELECT id FROM visitors WHERE LOWER(email) = LOWER(?) ORDER BY created_at, id"), email); err != nil {
		return nil, fmt.Errorf("visitors by email: %w", err)
	}
	return ids, nil
}

// ExportVisitor returns everything stored about a visitor: the record,
// their devices' tokens (described), their chats with messages and
// rating, their tickets with request and replies. Internal notes are
// left out.
func (db *DB) ExportVisitor(ctx context.Context, visitorID string) (*chat.VisitorExport, error) {
	var v struct {
		visitorRow
		LastSeen int64 `db:"last_seen_at"`
	}
	err := db.x.GetContext(ctx, &v, db.rebind("SELECT "+visitorRowCols+", v.last_seen_at FROM visitors v WHERE v.id = ?"), visitorID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.Errorf(chat.ENotFound, "no such visitor")
	}
	if err != nil {
		return nil, fmt.Errorf("export visitor: %w", err)
	}
	out := &chat.VisitorExport{
		Visitor: chat.ExportVisitor{ID: v.ID, Name: v.Name, Email: v.Email, UserID: v.ExternalID.String,
			CreatedAt: msTime(v.CreatedAt), LastSeenAt: msTime(v.LastSeen)},
		Tokens: []chat.ExportToken{}, Chats: []chat.ExportChat{}, Tickets: []chat.ExportTicket{},
	}
	var tokens []struct {
		CreatedAt int64 `db:"created_at"`
		LastUsed  int64 `db:"last_used_at"`
	}
	if err := db.x.SelectContext(ctx, &tokens, db.rebind("SELECT created_at, last_used_at FROM visitor_tokens WHERE visitor_id = ? ORDER BY created_at"), visitorID); err != nil {
		return nil, fmt.Errorf("export tokens: %w", err)
	}
	for _, t := range tokens {
		out.Tokens = append(out.Tokens, chat.ExportToken{CreatedAt: msTime(t.CreatedAt), LastUsedAt: msTime(t.LastUsed)})
	}
	var chats []struct {
		chatRow
		Comment string `db:"rating_comment"`
	}
	if err := db.x.SelectContext(ctx, &chats, db.rebind("SELECT "+chatCols+", rating_comment FROM chats WHERE visitor_id = ? ORDER BY created_at, id"), visitorID); err != nil {
		return nil, fmt.Errorf("export chats: %w", err)
	}
	for _, r := range chats {
		c := r.chat()
		msgs, err := db.Messages(ctx, c.ID, chat.KindMessage, 0, 0)
		if err != nil {
			return nil, err
		}
		ec := chat.ExportChat{ID: c.ID, Unit: c.Unit, Status: c.Status, CloseReason: c.CloseReason, TicketID: c.TicketID,
			CreatedAt: c.CreatedAt, ClosedAt: c.ClosedAt, Rating: c.Rating, RatingComment: r.Comment, Messages: []chat.ExportMessage{}}
		for _, m := range msgs {
			ec.Messages = append(ec.Messages, chat.ExportMessage{Seq: m.Seq, From: m.From, Text: m.Text, At: m.At})
		}
		out.Chats = append(out.Chats, ec)
	}
	if out.Tickets, err = db.exportTickets(ctx, "visitor_id = ?", visitorID); err != nil {
		return nil, err
	}
	return out, nil
}

// ExportTicketsByEmail returns the tickets requested under email (case
// folded) that belong to none of the visitors named.
func (db *DB) ExportTicketsByEmail(ctx context.Context, email string, except []string) ([]chat.ExportTicket, error) {
	where, args := "LOWER(email) = LOWER(?)", []any{email}
	if len(except) > 0 {
		where += " AND (visitor_id IS NULL OR visitor_id NOT IN (?" + strings.Repeat(", ?", len(except)-1) + "))"
		for _, id := range except {
			args = append(args, id)
		}
	}
	return db.exportTickets(ctx, where, args...)
}

func (db *DB) exportTickets(ctx context.Context, where string, args ...any) ([]chat.ExportTicket, error) {
	var rows []ticketRow
	if err := db.x.SelectContext(ctx, &rows, db.rebind("SELECT "+ticketCols+" FROM tickets WHERE "+where+" ORDER BY created_at, id"), args...); err != nil {
		return nil, fmt.Errorf("export tickets: %w", err)
	}
	out := []chat.ExportTicket{}
	for _, r := range rows {
		t := r.ticket()
		entries, err := db.TicketEntries(ctx, t.ID, false)
		if err != nil {
			return nil, err
		}
		et := chat.ExportTicket{ID: t.ID, Unit: t.Unit, Status: t.Status, Subject: t.Subject, Email: t.Email, ChatID: t.ChatID,
			MergedInto: t.MergedInto, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Replies: []chat.ExportMessage{}}
		for _, e := range entries {
			et.Replies = append(et.Replies, chat.ExportMessage{Seq: e.Seq, From: e.From, Text: e.Text, At: e.At})
		}
		out = append(out, et)
	}
	return out, nil
}

// ErrOpenChat is the erasure's refusal while a chat of the visitor is
// still open: live chat closes it first, then erases again.
var ErrOpenChat = chat.Errorf(chat.EConflict, "the visitor has an open chat")

// EraseVisitors deletes, in one transaction, the visitors named and
// everything of theirs: chats with their messages and assignment records,
// tickets (theirs, and with e.Email those requested under it) with their
// entries and timelines, entries of theirs merged into other tickets,
// their tokens, the webhook deliveries and stored Idempotency-Key answers
// that name any of these records, and their client_id records; and writes
// the audit rows (that it happened, never the content). It refuses
// (ErrOpenChat) while one of their chats is open: its live state must be
// freed first.
func (db *DB) EraseVisitors(ctx context.Context, e chat.Erasure) (chat.ErasureResult, error) {
	var res chat.ErasureResult
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		res = chat.ErasureResult{Tokens: e.Revoked}
		var chatIDs, ticketIDs []string
		in := func(n int) string { return "(?" + strings.Repeat(", ?", n-1) + ")" }
		vargs := make([]any, len(e.VisitorIDs))
		for i, id := range e.VisitorIDs {
			vargs[i] = id
		}
		if len(vargs) > 0 {
			// Lock the chats first: a close being reported (the chat.closed
			// outbox) finishes before its deliveries are looked for below.
			var rows []struct {
				ID     string `db:"id"`
				Status string `db:"status"`
			}
			if err := tx.SelectContext(ctx, &rows, db.rebind("SELECT id, status FROM chats WHERE visitor_id IN "+in(len(vargs))+db.forUpdate()), vargs...); err != nil {
				return err
			}
			for _, r := range rows {
				if r.Status == chat.StatusQueued || r.Status == chat.StatusActive {
					return ErrOpenChat
				}
				chatIDs = append(chatIDs, r.ID)
			}
		}
		where, targs := "1 = 0", []any{}
		if len(vargs) > 0 {
			where, targs = "visitor_id IN "+in(len(vargs)), append(targs, vargs...)
		}
		if e.Email != "" {
			where += " OR LOWER(email) = LOWER(?)"
			targs = append(targs, e.Email)
		}
		if err := tx.SelectContext(ctx, &ticketIDs, db.rebind("SELECT id FROM tickets WHERE "+where+db.forUpdate()), targs...); err != nil {
			return err
		}
		del := func(n *int64, q string, args ...any) error {
			r, err := tx.ExecContext(ctx, db.rebind(q), args...)
			if err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
			if n != nil {
				k, _ := r.RowsAffected()
				*n += k
			}
			return nil
		}
		for _, id := range ticketIDs {
			if err := del(&res.Replies, "DELETE FROM ticket_messages WHERE ticket_id = ?", id); err != nil {
				return err
			}
			if err := del(nil, "DELETE FROM ticket_events WHERE ticket_id = ?", id); err != nil {
				return err
			}
			// A ticket merged into this one points at nothing now.
			if err := del(nil, "UPDATE tickets SET merged_into = NULL WHERE merged_into = ?", id); err != nil {
				return err
			}
			if err := del(&res.Tickets, "DELETE FROM tickets WHERE id = ?", id); err != nil {
				return err
			}
		}
		for _, id := range chatIDs {
			if err := del(&res.Messages, "DELETE FROM messages WHERE chat_id = ?", id); err != nil {
				return err
			}
			if err := del(nil, "DELETE FROM assignments WHERE chat_id = ?", id); err != nil {
				return err
			}
			if err := del(nil, "DELETE FROM requests WHERE chat_id = ?", id); err != nil {
				return err
			}
			if err := del(nil, "UPDATE tickets SET chat_id = NULL WHERE chat_id = ?", id); err != nil {
				return err
			}
			if err := del(&res.Chats, "DELETE FROM chats WHERE id = ?", id); err != nil {
				return err
			}
		}
		for _, id := range e.VisitorIDs {
			// Their words kept in tickets that are not theirs (a merge).
			if err := del(&res.Replies, "DELETE FROM ticket_messages WHERE author_kind = ? AND author_id = ?", chat.FromVisitor, id); err != nil {
				return err
			}
			if err := del(nil, "DELETE FROM ticket_events WHERE by_kind = ? AND by_id = ?", chat.FromVisitor, id); err != nil {
				return err
			}
			if err := del(nil, "DELETE FROM requests WHERE principal = ?", "v:"+id); err != nil {
				return err
			}
			if err := del(&res.Answers, "DELETE FROM idempotency_keys WHERE scope = ?", "v:"+id); err != nil {
				return err
			}
			if err := del(&res.Tokens, "DELETE FROM visitor_tokens WHERE visitor_id = ?", id); err != nil {
				return err
			}
			if err := del(&res.Visitors, "DELETE FROM visitors WHERE id = ?", id); err != nil {
				return err
			}
		}
		// Bodies that name one of the records: webhook deliveries (pending
		// ones are not sent any more) and stored answers of other
		// credentials (an integrator's request for this customer). Ids are
		// UUIDs, free of LIKE's wildcards.
		named := append(append(append([]string{}, e.VisitorIDs...), chatIDs...), ticketIDs...)
		for _, id := range named {
			pat := `%"` + id + `"%`
			if err := del(&res.Deliveries, "DELETE FROM webhook_deliveries WHERE body LIKE ?", pat); err != nil {
				return err
			}
			if err := del(&res.Answers, "DELETE FROM idempotency_keys WHERE body LIKE ?", pat); err != nil {
				return err
			}
		}
		detail := fmt.Sprintf("chats=%d messages=%d tickets=%d replies=%d tokens=%d webhook_deliveries=%d idempotency_keys=%d",
			res.Chats, res.Messages, res.Tickets, res.Replies, res.Tokens, res.Deliveries, res.Answers)
		objects := e.VisitorIDs
		kind := "visitor"
		if len(objects) == 0 {
			objects, kind = []string{""}, "email"
		}
		for _, id := range objects {
			a := e.Audit
			a.ObjectKind, a.ObjectID = kind, id
			if a.Detail == "" {
				a.Detail = detail
			} else {
				a.Detail += " " + detail
			}
			if err := db.insertAudit(ctx, tx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrOpenChat) {
			return res, err
		}
		return res, fmt.Errorf("erase visitors: %w", err)
	}
	return res, nil
}
