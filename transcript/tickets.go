package transcript

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
	"github.com/chatd/chatd/chat/rest"
)

// TicketView is a ticket as the API answers it: the ticket, its request
// (text, from), every later entry in order (notes for staff only), its
// timeline and, for an open ticket, its place in the unit's written queue.
type TicketView struct {
	*chat.Ticket
	Text    string             `json:"text"`
	From    chat.Sender        `json:"from"`
	Replies []ReplyView        `json:"replies"`
	Events  []chat.TicketEvent `json:"events"`
	Queue   *QueueView         `json:"queue,omitempty"`
}

// ReplyView is one entry after the request.
type ReplyView struct {
	Seq      int64       `json:"seq"`
	From     chat.Sender `json:"from"`
	Text     string      `json:"text"`
	At       time.Time   `json:"at"`
	Internal bool        `json:"internal,omitempty"` // a note: staff only
}

// QueueView is where a ticket waits and how long a first reply is expected
// to take, from the unit's recent figures (null: no figures yet).
type QueueView struct {
	Position                  int      `json:"position"`
	ExpectedFirstReplySeconds *float64 `json:"expected_first_reply_seconds"`
}

func (api *API) view(ctx context.Context, p chat.Principal, t *chat.Ticket) (*TicketView, error) {
	staff := p.Agent != nil || p.APIKey != nil
	entries, err := api.store.TicketEntries(ctx, t.ID, staff)
	if err != nil {
		return nil, err
	}
	events, err := api.store.TicketEvents(ctx, t.ID, staff)
	if err != nil {
		return nil, err
	}
	v := &TicketView{Ticket: t, Replies: []ReplyView{}, Events: events}
	if v.Events == nil {
		v.Events = []chat.TicketEvent{}
	}
	for i, e := range entries {
		if i == 0 && e.Seq == 1 {
			v.Text, v.From = e.Text, e.From
			continue
		}
		v.Replies = append(v.Replies, ReplyView{Seq: e.Seq, From: e.From, Text: e.Text, At: e.At, Internal: e.Kind == chat.EntryNote})
	}
	if t.Status == chat.TicketOpen { // as the staff queue lists it, answered before or not
		place, err := api.store.TicketQueuePlace(ctx, t)
		if err != nil {
			return nil, err
		}
		v.Queue = &QueueView{Position: place.Position}
		if place.ExpectedFirstReply > 0 {
			s := place.ExpectedFirstReply.Round(time.Second).Seconds()
			v.Queue.ExpectedFirstReplySeconds = &s
		}
	}
	return v, nil
}

// ticketFor loads a ticket and asks the policy whether p may do action to
// it; a refusal to see it is audited.
func (api *API) ticketFor(ctx context.Context, p chat.Principal, action access.Action, id string) (*chat.Ticket, error) {
	t, err := api.store.Ticket(ctx, id)
	if err == nil {
		err = access.Ticket(p, action, t)
	}
	if err != nil {
		return nil, api.denied(ctx, p, action, "ticket", id, err)
	}
	return t, nil
}

// createTicket serves POST /api/v1/tickets: a visitor's written request (the
// offline form), or an integrator's or staff member's on behalf of a
// visitor or an email. A repeated request on the same matter joins the
// requester's open ticket: 200 {merged_into, ticket}.
func (api *API) createTicket(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.CreateTicket)
	if err != nil {
		return err
	}
	var body createBody
	if err := rest.Bind(c, &body); err != nil {
		return err
	}
	body, err = checkCreate(body, api.cfg.MaxMessageBytes)
	if err != nil {
		return err
	}
	subject, text, email := body.Subject, body.Text, body.Email
	n := chat.NewTicket{Subject: subject, Text: text, Email: email, By: p.Sender()}
	if p.VisitorID != "" {
		if body.VisitorID != "" && body.VisitorID != p.VisitorID {
			return chat.Errorf(chat.EForbidden, "a visitor makes requests of their own only")
		}
		v, err := api.store.Visitor(ctx, p.VisitorID)
		if err != nil {
			return err
		}
		n.VisitorID = v.ID
		if n.Email == "" {
			n.Email = v.Email
		}
		n.Author = chat.Sender{Kind: chat.FromVisitor, ID: v.ID, Name: v.Name}
	} else {
		if body.VisitorID != "" {
			v, err := api.store.Visitor(ctx, body.VisitorID)
			if err != nil {
				return chat.Errorf(chat.EInvalid, "visitor_id names no visitor")
			}
			n.VisitorID = v.ID
			if n.Email == "" {
				n.Email = v.Email
			}
		}
		if n.VisitorID == "" && n.Email == "" {
			return chat.Errorf(chat.EInvalid, "a request needs its requester: visitor_id or email")
		}
		n.Author = chat.Sender{Kind: chat.FromVisitor, ID: n.VisitorID, Name: n.Email}
	}
	n.Unit = body.Unit
	if n.Unit == "" || n.Unit == "auto" {
		n.Unit = "general"
		if api.classify != nil {
			n.Unit = api.classify(subject + "\n" + text)
		}
	}
	if !api.validUnit(n.Unit) {
		return chat.Errorf(chat.EUnknownUnit, "unknown unit %q (units: %s)", n.Unit, strings.Join(api.cfg.Units, ", "))
	}
	if p.VisitorID == "" && !access.SeesUnit(p, n.Unit) {
		return chat.Errorf(chat.EForbidden, "this credential does not serve unit %s", n.Unit)
	}
	t, merged, err := api.store.CreateTicket(ctx, n)
	if err != nil {
		return err
	}
	api.changed()
	v, err := api.view(ctx, p, t)
	if err != nil {
		return err
	}
	if merged {
		return c.JSON(http.StatusOK, map[string]any{"merged_into": t.ID, "ticket": v})
	}
	return c.JSON(http.StatusCreated, v)
}

// getTicket serves GET /api/v1/tickets/{id} to the visitor who asked,
// staff of its unit and integrators; staff and integrator reads are audited.
func (api *API) getTicket(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.ReadTicket)
	if err != nil {
		return err
	}
	t, err := api.ticketFor(ctx, p, access.ReadTicket, c.Param("id"))
	if err != nil {
		return err
	}
	if err := api.looked(ctx, p, access.ReadTicket, "ticket", t.ID, ""); err != nil {
		return err
	}
	v, err := api.view(ctx, p, t)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// listTickets serves GET /api/v1/tickets: the written queue of the units the
// principal serves, oldest first, open tickets unless ?status= says
// otherwise (status=all for every status), filtered by unit, email,
// visitor_id and the created range (created_after, created_before: RFC 3339).
func (api *API) listTickets(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.ListTickets)
	if err != nil {
		return err
	}
	f, err := ticketQuery(c.QueryParams(), p, api.cfg.Units)
	if err != nil {
		return err
	}
	items, next, err := api.store.Tickets(ctx, f)
	if err != nil {
		return err
	}
	if items == nil {
		items = []*chat.Ticket{}
	}
	if err := api.looked(ctx, p, access.ListTickets, "tickets", "", "status="+f.Status); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "next_cursor": next})
}

// changeTicket serves PATCH /api/v1/tickets/{id} {status?, unit?}.
func (api *API) changeTicket(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.MoveTicket)
	if err != nil {
		return err
	}
	var body changeBody
	if err := rest.Bind(c, &body); err != nil {
		return err
	}
	if err := checkChange(body, api.cfg.Units); err != nil {
		return err
	}
	if body.Unit != "" && !access.SeesUnit(p, body.Unit) && p.APIKey != nil {
		return chat.Errorf(chat.EForbidden, "this key does not serve unit %s", body.Unit)
	}
	id := c.Param("id")
	t, err := api.store.ChangeTicket(ctx, chat.TicketChange{TicketID: id, By: p.Sender(), Status: body.Status, Unit: body.Unit,
		Check: func(t *chat.Ticket) error { return access.Ticket(p, access.MoveTicket, t) }})
	if err != nil {
		return api.denied(ctx, p, access.MoveTicket, "ticket", id, err)
	}
	api.changed()
	if !access.SeesUnit(p, t.Unit) { // handed to a unit the sender does not serve
		return c.JSON(http.StatusOK, &TicketView{Ticket: t, Replies: []ReplyView{}, Events: []chat.TicketEvent{}})
	}
	v, err := api.view(ctx, p, t)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// reply serves POST /api/v1/tickets/{id}/replies {text, internal?}: a reply
// in writing (the visitor's on their own ticket reopens it when pending or
// solved), or with internal: true a staff note.
func (api *API) reply(c echo.Context) error {
	ctx := c.Request().Context()
	var body replyBody
	if err := rest.Bind(c, &body); err != nil {
		return err
	}
	action := access.ReplyTicket
	if body.Internal {
		action = access.NoteTicket
	}
	p, err := access.Require(ctx, action)
	if err != nil {
		return err
	}
	text, err := checkReply(body, api.cfg.MaxMessageBytes)
	if err != nil {
		return err
	}
	from := p.Sender()
	if p.VisitorID != "" {
		if v, err := api.store.Visitor(ctx, p.VisitorID); err == nil {
			from.Name = v.Name
		}
	}
	kind := chat.EntryReply
	if body.Internal {
		kind = chat.EntryNote
	}
	id := c.Param("id")
	t, entry, err := api.store.AddTicketEntry(ctx, chat.TicketWrite{TicketID: id, Kind: kind, From: from, Text: text, Customer: p.VisitorID != "",
		Check: func(t *chat.Ticket) error { return access.Ticket(p, action, t) }})
	if err != nil {
		return api.denied(ctx, p, action, "ticket", id, err)
	}
	api.changed()
	return c.JSON(http.StatusCreated, map[string]any{"ticket": t, "reply": ReplyView{Seq: entry.Seq, From: entry.From, Text: entry.Text, At: entry.At, Internal: body.Internal}})
}

// merge serves POST /api/v1/tickets/{id}/merge {into}: the ticket closes
// pointing at the other, which takes its request.
func (api *API) merge(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.MergeTicket)
	if err != nil {
		return err
	}
	var body mergeBody
	if err := rest.Bind(c, &body); err != nil {
		return err
	}
	into, err := checkMerge(body)
	if err != nil {
		return err
	}
	id := c.Param("id")
	src, dst, err := api.store.MergeTickets(ctx, chat.TicketMerge{SourceID: id, TargetID: into, By: p.Sender(),
		Check: func(s, t *chat.Ticket) error {
			if err := access.Ticket(p, access.MergeTicket, s); err != nil {
				return err
			}
			return access.Ticket(p, access.MergeTicket, t)
		}})
	if err != nil {
		return api.denied(ctx, p, access.MergeTicket, "ticket", id+" into "+into, err)
	}
	api.changed()
	v, err := api.view(ctx, p, dst)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"ticket": src, "into": v})
}

// escalate serves POST /api/v1/chats/{id}/escalate {subject?}: the live chat
// closes into a ticket holding its transcript (201), or into the visitor's
// open ticket on the same matter (200 {merged_into, ticket}); its sockets
// hear chat.escalated.
func (api *API) escalate(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.EscalateChat)
	if err != nil {
		return err
	}
	var body escalateBody
	if c.Request().ContentLength != 0 {
		if err := rest.Bind(c, &body); err != nil {
			return err
		}
	}
	subject, err := checkEscalate(body)
	if err != nil {
		return err
	}
	id := c.Param("id")
	ch, err := api.chats.Escalate(ctx, p, id, "", subject)
	if err != nil { // another unit's chat is not there for this caller: the try is audited
		return api.denied(ctx, p, access.EscalateChat, "chat", id, err)
	}
	api.changed()
	t, err := api.store.Ticket(ctx, ch.TicketID)
	if err != nil {
		return err
	}
	v, err := api.view(ctx, p, t)
	if err != nil {
		return err
	}
	if t.ChatID != ch.ID {
		return c.JSON(http.StatusOK, map[string]any{"merged_into": t.ID, "ticket": v})
	}
	return c.JSON(http.StatusCreated, v)
}

// AutoClose closes solved tickets past the configured time, every `every`,
// until ctx ends. Every node may run it: each ticket closes once.
func (api *API) AutoClose(ctx context.Context, every time.Duration) {
	if api.cfg.AutoClose <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for {
			n, err := api.store.AutoCloseTickets(ctx, time.Now().Add(-api.cfg.AutoClose), 100)
			if err != nil {
				if ctx.Err() == nil {
					api.log.Warn("auto-close tickets", "err", err)
				}
				break
			}
			if n > 0 {
				api.changed()
			}
			if n < 100 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
