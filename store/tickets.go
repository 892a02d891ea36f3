package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/chatd/chatd/chat"
)

var errNotApplied = errors.New("not applied")

type ticketRow struct {
	ID           string         `db:"id"`
	Unit         string         `db:"unit"`
	Status       string         `db:"status"`
	Subject      string         `db:"subject"`
	VisitorID    sql.NullString `db:"visitor_id"`
	Email        string         `db:"email"`
	ChatID       sql.NullString `db:"chat_id"`
	Priority     int            `db:"priority"`
	MergedInto   sql.NullString `db:"merged_into"`
	CreatedAt    int64          `db:"created_at"`
	UpdatedAt    int64          `db:"updated_at"`
	SolvedAt     sql.NullInt64  `db:"solved_at"`
	FirstReplyAt sql.NullInt64  `db:"first_reply_at"`
	LastSeq      int64          `db:"last_seq"`
}

const ticketCols = "id, unit, status, subject, visitor_id, email, chat_id, priority, merged_into, created_at, updated_at, solved_at, first_reply_at, last_seq"

func (r ticketRow) ticket() *chat.Ticket {
	return &chat.Ticket{ID: r.ID, Unit: r.Unit, Status: r.Status, Subject: r.Subject, VisitorID: r.VisitorID.String,
		Email: r.Email, ChatID: r.ChatID.String, Priority: r.Priority, MergedInto: r.MergedInto.String,
		CreatedAt: msTime(r.CreatedAt), UpdatedAt: msTime(r.UpdatedAt), SolvedAt: nullTime(r.SolvedAt), FirstReplyAt: nullTime(r.FirstReplyAt)}
}

// forUpdate locks the rows a SELECT reads on PostgreSQL; SQLite's write
// lock, taken at BEGIN, already holds off every other writer.
func (db *DB) forUpdate() string {
	if db.engine == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

func (db *DB) lockedTicket(ctx context.Context, tx *sqlx.Tx, id string) (*chat.Ticket, int64, error) {
	var r ticketRow
	err := tx.GetContext(ctx, &r, db.rebind("SELECT "+ticketCols+" FROM tickets WHERE id = ?"+db.forUpdate()), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, chat.Errorf(chat.ENotFound, "no such ticket")
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get ticket: %w", err)
	}
	return r.ticket(), r.LastSeq, nil
}

// Ticket finds a ticket by id.
func (db *DB) Ticket(ctx context.Context, id string) (*chat.Ticket, error) {
	var r ticketRow
	err := db.x.GetContext(ctx, &r, db.rebind("SELECT "+ticketCols+" FROM tickets WHERE id = ?"), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.Errorf(chat.ENotFound, "no such ticket")
	}
	if err != nil {
		return nil, fmt.Errorf("get ticket: %w", err)
	}
	return r.ticket(), nil
}

// Escalate closes an open chat into an open ticket of the same unit, all
// in one transaction, once per client_id. With the chat row locked it reads
// the chat's messages and asks render for the ticket's subject and first
// entry (the transcript): a message stored a moment before is in it, and
// none can be stored after it. When the visitor already has an open or
// pending ticket of the unit on the same matter (chat.SameMatter of the
// subject and the chat's first message), the transcript is added to that
// ticket instead of opening another. It returns the chat as it is
// afterwards; its TicketID names the ticket.
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
	t := now()
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		c, err := getChat(ctx, tx, db.rebind("SELECT "+chatCols+" FROM chats WHERE id = ?"+db.forUpdate()), e.ChatID)
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
		first := ""
		if len(msgs) > 0 {
			first = msgs[0].Text
		}
		var v struct {
			Name  string `db:"name"`
			Email string `db:"email"`
		}
		if err := tx.GetContext(ctx, &v, db.rebind("SELECT name, email FROM visitors WHERE id = ?"), c.VisitorID); err != nil {
			return err
		}
		req := ticketRequest{unit: c.Unit, visitorID: c.VisitorID, email: v.Email, subject: subject, matter: first,
			priority: c.Priority, chatID: c.ID, by: e.By, author: e.By, text: text, at: t}
		tk, merged, err := db.openOrMerge(ctx, tx, req)
		if err != nil {
			return err
		}
		by := e.Who.Closer()
		if _, err := tx.ExecContext(ctx, db.rebind(`UPDATE chats SET status = 'escalated', ticket_id = ?, closed_at = ?, close_reason = 'escalated',
			last_activity_at = ?, closed_event = 1, closed_by_kind = ?, closed_by_id = ?, closed_by_name = ? WHERE id = ?`), tk.ID, t, t, by.Kind, by.ID, by.Name, e.ChatID); err != nil {
			return err
		}
		c.Status, c.TicketID = chat.StatusEscalated, tk.ID
		closedAt := msTime(t)
		c.ClosedAt, c.CloseReason, c.ClosedBy = &closedAt, "escalated", &by
		if err := db.emit(ctx, tx, "chat.escalated", map[string]any{"chat": c, "ticket": tk, "merged": merged}); err != nil {
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

// ticketRequest is a new request: a ticket of its own, or an entry of the
// requester's open ticket on the same matter.
type ticketRequest struct {
	unit, visitorID, email string
	subject, matter        string // what the merge rule compares (matter: the request's own words)
	text                   string // the first entry
	priority               int
	chatID                 string
	by, author             chat.Sender // who asked; who wrote the entry
	at                     int64
}

// openOrMerge opens a ticket for req, or adds req to the requester's open
// or pending ticket of the unit on the same matter (merged true). The
// requester is locked first on PostgreSQL, so two equal requests at once
// make one ticket.
func (db *DB) openOrMerge(ctx context.Context, tx *sqlx.Tx, req ticketRequest) (*chat.Ticket, bool, error) {
	req.email = chat.NormalEmail(req.email)
	if db.engine == Postgres {
		for _, k := range requesterKeys(req) {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", k); err != nil {
				return nil, false, err
			}
		}
	}
	if into, err := db.sameMatter(ctx, tx, req); err != nil || into != nil {
		if err != nil {
			return nil, false, err
		}
		tk, err := db.mergeRequest(ctx, tx, into, req)
		return tk, true, err
	}
	id := uuid.NewString()
	requester := "email:" + req.email
	var visitorID any
	if req.visitorID != "" {
		requester, visitorID = "visitor:"+req.visitorID, req.visitorID
	}
	var chatID any
	if req.chatID != "" {
		chatID = req.chatID
	}
	if _, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO tickets (id, unit, status, subject, requester, visitor_id, email, chat_id, priority, created_at, updated_at, last_activity_at, last_seq)
		VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`), id, req.unit, req.subject, requester, visitorID, req.email, chatID, req.priority, req.at, req.at, req.at); err != nil {
		return nil, false, err
	}
	if err := db.insertEntry(ctx, tx, id, 1, chat.EntryReply, req.author, req.text, req.at); err != nil {
		return nil, false, err
	}
	if err := db.insertEvent(ctx, tx, id, req.at, req.by, chat.EventCreated, "", chat.TicketOpen); err != nil {
		return nil, false, err
	}
	tk := &chat.Ticket{ID: id, Unit: req.unit, Status: chat.TicketOpen, Subject: req.subject, VisitorID: req.visitorID, Email: req.email,
		ChatID: req.chatID, Priority: req.priority, CreatedAt: msTime(req.at), UpdatedAt: msTime(req.at)}
	return tk, false, db.emit(ctx, tx, "ticket.created", ticketEvent{Ticket: tk, Entry: &chat.TicketEntry{Seq: 1, Kind: chat.EntryReply, From: req.author, Text: req.text, At: msTime(req.at)}})
}

func requesterKeys(req ticketRequest) []string {
	var keys []string
	if req.visitorID != "" {
		keys = append(keys, "ticket-requester:visitor:"+req.visitorID)
	}
	if req.email != "" {
		keys = append(keys, "ticket-requester:email:"+req.email)
	}
	return keys
}

// sameMatter finds the requester's oldest open or pending ticket of the
// unit on the same matter as req, or nil.
func (db *DB) sameMatter(ctx context.Context, tx *sqlx.Tx, req ticketRequest) (*chat.Ticket, error) {
	var who []string
	var args []any
	if req.visitorID != "" {
		who, args = append(who, "t.visitor_id = ?"), append(args, req.visitorID)
	}
	if req.email != "" {
		who, args = append(who, "t.email = ?"), append(args, req.email)
	}
	if len(who) == 0 {
		return nil, nil
	}
	args = append(args, req.unit)
	var rows []struct {
		ticketRow
		First sql.NullString `db:"first_text"`
	}
	q := `SELECT t.id, t.unit, t.status, t.subject, t.visitor_id, t.email, t.chat_id, t.priority, t.merged_into, t.created_at, t.updated_at,
			t.solved_at, t.first_reply_at, t.last_seq,
			(SELECT m.text FROM ticket_messages m WHERE m.ticket_id = t.id AND m.seq = 1) AS first_text
		FROM tickets t WHERE (` + strings.Join(who, " OR ") + `) AND t.unit = ? AND t.status IN ('open', 'pending')
		ORDER BY t.created_at, t.id LIMIT 50`
	if err := tx.SelectContext(ctx, &rows, db.rebind(q), args...); err != nil {
		return nil, fmt.Errorf("same matter: %w", err)
	}
	for _, r := range rows {
		first := r.First.String
		if r.ChatID.Valid { // an escalated chat's first entry is its transcript: compare the subject
			first = ""
		}
		if chat.SameMatter(r.Subject, first, req.subject, req.matter) {
			return r.ticket(), nil
		}
	}
	return nil, nil
}

// mergeRequest adds req to ticket into as a new customer entry (a pending
// ticket opens again: the customer wrote).
func (db *DB) mergeRequest(ctx context.Context, tx *sqlx.Tx, into *chat.Ticket, req ticketRequest) (*chat.Ticket, error) {
	tk, seq, err := db.lockedTicket(ctx, tx, into.ID)
	if err != nil {
		return nil, err
	}
	seq++
	status := tk.Status
	if req.author.Kind == chat.FromVisitor || req.chatID != "" { // the customer wrote again
		status, _ = chat.AfterCustomerReply(tk.Status)
	}
	if _, err := tx.ExecContext(ctx, db.rebind(`UPDATE tickets SET last_seq = ?, status = ?, updated_at = ?, last_activity_at = ? WHERE id = ?`),
		seq, status, req.at, req.at, tk.ID); err != nil {
		return nil, err
	}
	if err := db.insertEntry(ctx, tx, tk.ID, seq, chat.EntryReply, req.author, req.text, req.at); err != nil {
		return nil, err
	}
	from := "request"
	if req.chatID != "" {
		from = "chat:" + req.chatID
	}
	if err := db.insertEvent(ctx, tx, tk.ID, req.at, req.by, chat.EventMergedIn, from, tk.ID); err != nil {
		return nil, err
	}
	tk.UpdatedAt = msTime(req.at)
	if status != tk.Status { // a pending ticket the customer wrote to again opens: as any move, it is ticket.updated too
		if err := db.insertEvent(ctx, tx, tk.ID, req.at, req.by, chat.EventStatus, tk.Status, status); err != nil {
			return nil, err
		}
		ch := &chat.TicketEvent{At: msTime(req.at), By: req.by, Kind: chat.EventStatus, From: tk.Status, To: status}
		tk.Status = status
		if status != chat.TicketSolved {
			tk.SolvedAt = nil
		}
		if err := db.emit(ctx, tx, "ticket.updated", ticketEvent{Ticket: tk, Change: ch}); err != nil {
			return nil, err
		}
	}
	return tk, db.emit(ctx, tx, "ticket.merged", ticketEvent{Ticket: tk, From: from,
		Entry: &chat.TicketEntry{Seq: seq, Kind: chat.EntryReply, From: req.author, Text: req.text, At: msTime(req.at)}})
}

func (db *DB) insertEntry(ctx context.Context, tx *sqlx.Tx, ticketID string, seq int64, kind string, from chat.Sender, text string, at int64) error {
	_, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO ticket_messages (id, ticket_id, seq, kind, author_kind, author_id, author_name, text, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), uuid.NewString(), ticketID, seq, kind, from.Kind, from.ID, from.Name, text, at)
	return err
}

func (db *DB) insertEvent(ctx context.Context, tx *sqlx.Tx, ticketID string, at int64, by chat.Sender, kind, from, to string) error {
	_, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO ticket_events (id, ticket_id, at, by_kind, by_id, by_name, kind, from_value, to_value)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), eventID(), ticketID, at, by.Kind, by.ID, by.Name, kind, from, to)
	return err
}

// eventID makes ids that sort in the order they were made (UUIDv7, with a
// counter within one millisecond), so a ticket's timeline reads in order.
func eventID() string { return uuid.Must(uuid.NewV7()).String() }

// ticketEvent is the data of a ticket webhook event.
type ticketEvent struct {
	Ticket *chat.Ticket      `json:"ticket"`
	Entry  *chat.TicketEntry `json:"entry,omitempty"`
	Change *chat.TicketEvent `json:"change,omitempty"`
	From   string            `json:"merged_from,omitempty"`
	Other  *chat.Ticket      `json:"other,omitempty"`
}

type NewTicket = chat.NewTicket

// CreateTicket opens a ticket for a request, or, when the requester (the
// same visitor or the same email) has an open or pending ticket of the unit
// on the same matter, adds the request to it as a new customer entry
// (merged true). One transaction.
func (db *DB) CreateTicket(ctx context.Context, n NewTicket) (*chat.Ticket, bool, error) {
	var tk *chat.Ticket
	var merged bool
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		tk, merged, err = db.openOrMerge(ctx, tx, ticketRequest{unit: n.Unit, visitorID: n.VisitorID, email: n.Email, subject: n.Subject,
			matter: n.Text, text: n.Text, by: n.By, author: n.Author, at: now()})
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("create ticket: %w", err)
	}
	return tk, merged, nil
}

type TicketWrite = chat.TicketWrite

// AddTicketEntry adds a reply or note to a ticket, in order, with its
// timeline event and webhook event, in one transaction. A closed ticket
// takes nothing (illegal_transition).
func (db *DB) AddTicketEntry(ctx context.Context, w TicketWrite) (*chat.Ticket, chat.TicketEntry, error) {
	var tk *chat.Ticket
	var entry chat.TicketEntry
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var seq int64
		var err error
		if tk, seq, err = db.lockedTicket(ctx, tx, w.TicketID); err != nil {
			return err
		}
		if w.Check != nil {
			if err := w.Check(tk); err != nil {
				return err
			}
		}
		if tk.Status == chat.TicketClosed {
			return chat.Errorf(chat.EIllegalState, "ticket is closed, which is final; a new request opens a new ticket")
		}
		t := now()
		seq++
		status := tk.Status
		if w.Customer {
			if status, err = chat.AfterCustomerReply(tk.Status); err != nil {
				return err
			}
		}
		set := "last_seq = ?, status = ?, updated_at = ?, last_activity_at = ?"
		args := []any{seq, status, t, t}
		if status != chat.TicketSolved {
			set += ", solved_at = NULL"
		}
		staffReply := !w.Customer && w.Kind == chat.EntryReply
		if staffReply && tk.FirstReplyAt == nil {
			set += ", first_reply_at = ?"
			args = append(args, t)
			at := msTime(t)
			tk.FirstReplyAt = &at
		}
		if _, err := tx.ExecContext(ctx, db.rebind("UPDATE tickets SET "+set+" WHERE id = ?"), append(args, tk.ID)...); err != nil {
			return err
		}
		if err := db.insertEntry(ctx, tx, tk.ID, seq, w.Kind, w.From, w.Text, t); err != nil {
			return err
		}
		entry = chat.TicketEntry{Seq: seq, Kind: w.Kind, From: w.From, Text: w.Text, At: msTime(t)}
		kind := chat.EventReplied
		if w.Kind == chat.EntryNote {
			kind = chat.EventNoted
		}
		if err := db.insertEvent(ctx, tx, tk.ID, t, w.From, kind, "", strconv.FormatInt(seq, 10)); err != nil {
			return err
		}
		before := tk.Status
		tk.Status, tk.UpdatedAt = status, msTime(t)
		if status != chat.TicketSolved {
			tk.SolvedAt = nil
		}
		if status != before {
			ch := &chat.TicketEvent{At: msTime(t), By: w.From, Kind: chat.EventStatus, From: before, To: status}
			if err := db.insertEvent(ctx, tx, tk.ID, t, w.From, chat.EventStatus, before, status); err != nil {
				return err
			}
			if err := db.emit(ctx, tx, "ticket.updated", ticketEvent{Ticket: tk, Change: ch}); err != nil {
				return err
			}
		}
		if w.Kind == chat.EntryNote { // internal: no webhook carries a note
			return nil
		}
		return db.emit(ctx, tx, "ticket.replied", ticketEvent{Ticket: tk, Entry: &entry})
	})
	if err != nil {
		return nil, entry, fmt.Errorf("ticket entry: %w", err)
	}
	return tk, entry, nil
}

type TicketChange = chat.TicketChange

// ChangeTicket applies a move (chat.TicketMove decides which are legal),
// with a timeline event per change and a ticket.updated webhook event.
func (db *DB) ChangeTicket(ctx context.Context, c TicketChange) (*chat.Ticket, error) {
	var tk *chat.Ticket
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if tk, _, err = db.lockedTicket(ctx, tx, c.TicketID); err != nil {
			return err
		}
		if c.Check != nil {
			if err := c.Check(tk); err != nil {
				return err
			}
		}
		return db.changeTicket(ctx, tx, tk, c.By, c.Status, c.Unit, now())
	})
	if err != nil {
		return nil, fmt.Errorf("change ticket: %w", err)
	}
	return tk, nil
}

// changeTicket moves the locked ticket tk (updated in place).
func (db *DB) changeTicket(ctx context.Context, tx *sqlx.Tx, tk *chat.Ticket, by chat.Sender, status, unit string, t int64) error {
	if status == tk.Status {
		status = ""
	}
	if unit == tk.Unit {
		unit = ""
	}
	if status == "" && unit == "" {
		return chat.Errorf(chat.EInvalid, "nothing to change: give another status or unit")
	}
	if tk.Status == chat.TicketClosed {
		return chat.Errorf(chat.EIllegalState, "ticket is closed, which is final; a new request opens a new ticket")
	}
	if status != "" {
		if err := chat.TicketMove(tk.Status, status); err != nil {
			return err
		}
	}
	set, args := []string{"updated_at = ?", "last_activity_at = ?"}, []any{t, t}
	var changes []chat.TicketEvent
	if status != "" {
		set, args = append(set, "status = ?"), append(args, status)
		if status == chat.TicketSolved {
			set, args = append(set, "solved_at = ?"), append(args, t)
			at := msTime(t)
			tk.SolvedAt = &at
		} else {
			set = append(set, "solved_at = NULL")
			tk.SolvedAt = nil
		}
		changes = append(changes, chat.TicketEvent{At: msTime(t), By: by, Kind: chat.EventStatus, From: tk.Status, To: status})
		tk.Status = status
	}
	if unit != "" {
		set, args = append(set, "unit = ?"), append(args, unit)
		changes = append(changes, chat.TicketEvent{At: msTime(t), By: by, Kind: chat.EventUnit, From: tk.Unit, To: unit})
		tk.Unit = unit
	}
	if _, err := tx.ExecContext(ctx, db.rebind("UPDATE tickets SET "+strings.Join(set, ", ")+" WHERE id = ?"), append(args, tk.ID)...); err != nil {
		return err
	}
	tk.UpdatedAt = msTime(t)
	for i := range changes {
		ch := changes[i]
		if err := db.insertEvent(ctx, tx, tk.ID, t, by, ch.Kind, ch.From, ch.To); err != nil {
			return err
		}
		if err := db.emit(ctx, tx, "ticket.updated", ticketEvent{Ticket: tk, Change: &ch}); err != nil {
			return err
		}
	}
	return nil
}

type TicketMerge = chat.TicketMerge

// MergeTickets closes the source pointing at the target (merged_into) and
// adds the source's request to the target as a customer entry, with
// timeline events on both and a ticket.merged webhook event, in one
// transaction. Both must be open or pending.
func (db *DB) MergeTickets(ctx context.Context, m TicketMerge) (source, target *chat.Ticket, err error) {
	if m.SourceID == m.TargetID {
		return nil, nil, chat.Errorf(chat.EInvalid, "a ticket cannot be merged into itself")
	}
	err = db.inTx(ctx, func(tx *sqlx.Tx) error {
		// Lock in id order, so two merges of the same pair at once cannot deadlock.
		first, second := m.SourceID, m.TargetID
		if second < first {
			first, second = second, first
		}
		a, _, err := db.lockedTicket(ctx, tx, first)
		if err != nil {
			return err
		}
		b, _, err := db.lockedTicket(ctx, tx, second)
		if err != nil {
			return err
		}
		source, target = a, b
		if a.ID != m.SourceID {
			source, target = b, a
		}
		var targetSeq int64
		if err := tx.GetContext(ctx, &targetSeq, db.rebind("SELECT last_seq FROM tickets WHERE id = ?"), target.ID); err != nil {
			return err
		}
		if m.Check != nil {
			if err := m.Check(source, target); err != nil {
				return err
			}
		}
		for _, tk := range []*chat.Ticket{source, target} {
			if !tk.Mergeable() {
				return chat.Errorf(chat.EIllegalState, "ticket %s is %s: only open or pending tickets merge", tk.ID, tk.Status)
			}
		}
		t := now()
		var req entryRow
		if err := tx.GetContext(ctx, &req, db.rebind(`SELECT seq, kind, author_kind, author_id, author_name, text, created_at FROM ticket_messages
			WHERE ticket_id = ? AND seq = 1`), source.ID); err != nil {
			return fmt.Errorf("source request: %w", err)
		}
		entry := req.entry()
		entry.Seq, entry.At = targetSeq+1, msTime(t)
		entry.Text = fmt.Sprintf("[%s] %s\n\n%s", source.ID, source.Subject, entry.Text)
		if err := db.insertEntry(ctx, tx, target.ID, entry.Seq, chat.EntryReply, entry.From, entry.Text, t); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.rebind("UPDATE tickets SET last_seq = ?, updated_at = ?, last_activity_at = ? WHERE id = ?"), entry.Seq, t, t, target.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.rebind(`UPDATE tickets SET status = 'closed', merged_into = ?, solved_at = NULL, updated_at = ?, last_activity_at = ? WHERE id = ?`),
			target.ID, t, t, source.ID); err != nil {
			return err
		}
		if err := db.insertEvent(ctx, tx, source.ID, t, m.By, chat.EventMergedInto, source.ID, target.ID); err != nil {
			return err
		}
		if err := db.insertEvent(ctx, tx, source.ID, t, m.By, chat.EventStatus, source.Status, chat.TicketClosed); err != nil {
			return err
		}
		if err := db.insertEvent(ctx, tx, target.ID, t, m.By, chat.EventMergedIn, source.ID, target.ID); err != nil {
			return err
		}
		source.Status, source.MergedInto, source.SolvedAt, source.UpdatedAt = chat.TicketClosed, target.ID, nil, msTime(t)
		target.UpdatedAt = msTime(t)
		return db.emit(ctx, tx, "ticket.merged", ticketEvent{Ticket: target, Other: source, From: source.ID, Entry: &entry})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("merge tickets: %w", err)
	}
	return source, target, nil
}

// AutoCloseTickets closes up to limit tickets solved before cutoff, each
// with its timeline and webhook event, and returns how many it closed.
// Several nodes may run it at once: each ticket is claimed by one
// (SKIP LOCKED on PostgreSQL; SQLite has one writer).
func (db *DB) AutoCloseTickets(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if found, err := db.exists(ctx, "SELECT 1 FROM tickets WHERE status = 'solved' AND solved_at < ? LIMIT 1", cutoff.UnixMilli()); err != nil || !found {
		return 0, err
	}
	skip := ""
	if db.engine == Postgres {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	n := 0
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var rows []ticketRow
		if err := tx.SelectContext(ctx, &rows, db.rebind("SELECT "+ticketCols+" FROM tickets WHERE status = 'solved' AND solved_at < ? ORDER BY solved_at LIMIT ?"+skip),
			cutoff.UnixMilli(), limit); err != nil {
			return err
		}
		t := now()
		by := chat.Sender{Kind: chat.FromSystem, ID: "autoclose", Name: "chatd"}
		for _, r := range rows {
			if err := db.changeTicket(ctx, tx, r.ticket(), by, chat.TicketClosed, "", t); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("auto-close tickets: %w", err)
	}
	return n, nil
}

type entryRow struct {
	Seq        int64  `db:"seq"`
	Kind       string `db:"kind"`
	AuthorKind string `db:"author_kind"`
	AuthorID   string `db:"author_id"`
	AuthorName string `db:"author_name"`
	Text       string `db:"text"`
	CreatedAt  int64  `db:"created_at"`
}

func (r entryRow) entry() chat.TicketEntry {
	return chat.TicketEntry{Seq: r.Seq, Kind: r.Kind, Text: r.Text, At: msTime(r.CreatedAt),
		From: chat.Sender{Kind: r.AuthorKind, ID: r.AuthorID, Name: r.AuthorName}}
}

// TicketEntries returns a ticket's entries in order; notes only when
// withNotes (staff).
func (db *DB) TicketEntries(ctx context.Context, ticketID string, withNotes bool) ([]chat.TicketEntry, error) {
	q := "SELECT seq, kind, author_kind, author_id, author_name, text, created_at FROM ticket_messages WHERE ticket_id = ?"
	if !withNotes {
		q += " AND kind = 'reply'"
	}
	var rows []entryRow
	if err := db.x.SelectContext(ctx, &rows, db.rebind(q+" ORDER BY seq"), ticketID); err != nil {
		return nil, fmt.Errorf("ticket entries: %w", err)
	}
	out := make([]chat.TicketEntry, len(rows))
	for i, r := range rows {
		out[i] = r.entry()
	}
	return out, nil
}

// TicketEvents returns a ticket's timeline, oldest first; notes only when
// withNotes (staff).
func (db *DB) TicketEvents(ctx context.Context, ticketID string, withNotes bool) ([]chat.TicketEvent, error) {
	q := "SELECT at, by_kind, by_id, by_name, kind, from_value, to_value FROM ticket_events WHERE ticket_id = ?"
	if !withNotes {
		q += " AND kind <> 'noted'"
	}
	var rows []struct {
		At     int64  `db:"at"`
		ByKind string `db:"by_kind"`
		ByID   string `db:"by_id"`
		ByName string `db:"by_name"`
		Kind   string `db:"kind"`
		From   string `db:"from_value"`
		To     string `db:"to_value"`
	}
	if err := db.x.SelectContext(ctx, &rows, db.rebind(q+" ORDER BY at, id"), ticketID); err != nil {
		return nil, fmt.Errorf("ticket events: %w", err)
	}
	out := make([]chat.TicketEvent, len(rows))
	for i, r := range rows {
		out[i] = chat.TicketEvent{At: msTime(r.At), By: chat.Sender{Kind: r.ByKind, ID: r.ByID, Name: r.ByName}, Kind: r.Kind, From: r.From, To: r.To}
	}
	return out, nil
}

type TicketFilter = chat.TicketFilter

// Tickets lists tickets by f, oldest first (a unit's queue is worked in
// that order), in pages keyed by (created_at, id): a ticket added while
// someone pages is never shown twice, and none seen before is skipped.
// next is the cursor of the following page, "" after the last.
func (db *DB) Tickets(ctx context.Context, f TicketFilter) ([]*chat.Ticket, string, error) {
	if f.Units != nil && len(f.Units) == 0 {
		return nil, "", nil
	}
	var where []string
	var args []any
	if f.Units != nil {
		where = append(where, "unit IN (?"+strings.Repeat(", ?", len(f.Units)-1)+")")
		for _, u := range f.Units {
			args = append(args, u)
		}
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.Email != "" {
		where, args = append(where, "email = ?"), append(args, chat.NormalEmail(f.Email))
	}
	if f.VisitorID != "" {
		where, args = append(where, "visitor_id = ?"), append(args, f.VisitorID)
	}
	if !f.From.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, f.To.UnixMilli())
	}
	cmp, order := ">", "created_at, id"
	if f.Newest {
		cmp, order = "<", "created_at DESC, id DESC"
	}
	if f.Cursor != "" {
		ms, id, err := parseCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "(created_at "+cmp+" ? OR (created_at = ? AND id "+cmp+" ?))")
		args = append(args, ms, ms, id)
	}
	q := "SELECT " + ticketCols + " FROM tickets"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY " + order + " LIMIT ?"
	args = append(args, f.Limit+1)
	var rows []ticketRow
	if err := db.x.SelectContext(ctx, &rows, db.rebind(q), args...); err != nil {
		return nil, "", fmt.Errorf("list tickets: %w", err)
	}
	next := ""
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		last := rows[len(rows)-1]
		next = cursor(last.CreatedAt, last.ID)
	}
	out := make([]*chat.Ticket, len(rows))
	for i, r := range rows {
		out[i] = r.ticket()
	}
	return out, next, nil
}

func cursor(ms int64, id string) string { return strconv.FormatInt(ms, 10) + "_" + id }

// parseCursor reads a page cursor; anything else is invalid_request, never
// an error of the database.
func parseCursor(c string) (int64, string, error) {
	ms, id, ok := strings.Cut(c, "_")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" || len(id) > 64 {
		return 0, "", chat.Errorf(chat.EInvalid, "cursor is not valid")
	}
	return n, id, nil
}

type QueuePlace = chat.QueuePlace

// TicketQueuePlace places an open ticket in its unit's written queue as
// staff see it (GET /api/v1/tickets: the unit's open tickets, oldest
// first), so a ticket the customer reopened after a reply has its place too.
func (db *DB) TicketQueuePlace(ctx context.Context, tk *chat.Ticket) (QueuePlace, error) {
	var p QueuePlace
	c := tk.CreatedAt.UnixMilli()
	if err := db.x.GetContext(ctx, &p.Position, db.rebind(`SELECT COUNT(*) FROM tickets WHERE unit = ? AND status = 'open'
		AND (created_at < ? OR (created_at = ? AND id < ?))`), tk.Unit, c, c, tk.ID); err != nil {
		return p, fmt.Errorf("queue place: %w", err)
	}
	p.Position++
	since := time.Now().Add(-7 * 24 * time.Hour).UnixMilli()
	var fig struct {
		N     int           `db:"n"`
		First sql.NullInt64 `db:"first"`
		Last  sql.NullInt64 `db:"last"`
	}
	if err := db.x.GetContext(ctx, &fig, db.rebind(`SELECT COUNT(*) AS n, MIN(first_reply_at) AS first, MAX(first_reply_at) AS last
		FROM tickets WHERE unit = ? AND first_reply_at >= ?`), tk.Unit, since); err != nil {
		return p, fmt.Errorf("queue figures: %w", err)
	}
	// The unit answers one ticket every (last-first)/(n-1); the ticket waits
	// for those ahead of it and itself. A single first reply (or several at
	// one instant) says nothing of that pace: no figure, rather than a guess.
	if fig.N >= 2 && fig.Last.Int64 > fig.First.Int64 {
		every := time.Duration((fig.Last.Int64-fig.First.Int64)/int64(fig.N-1)) * time.Millisecond
		p.ExpectedFirstReply = time.Duration(p.Position) * every
	}
	return p, nil
}

// CountTickets counts every ticket.
func (db *DB) CountTickets(ctx context.Context) (int, error) {
	var n int
	if err := db.x.GetContext(ctx, &n, "SELECT COUNT(*) FROM tickets"); err != nil {
		return 0, fmt.Errorf("count tickets: %w", err)
	}
	return n, nil
}
