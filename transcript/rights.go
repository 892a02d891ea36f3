package transcript

import (
	"context"

	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
)

// RightsStore reads and erases everything held about a visitor.
type RightsStore interface {
	VisitorsByEmail(ctx context.Context, email string) ([]string, error)
	ExportVisitor(ctx context.Context, visitorID string) (*chat.VisitorExport, error)
	ExportTicketsByEmail(ctx context.Context, email string, except []string) ([]chat.ExportTicket, error)
	EraseVisitors(ctx context.Context, e chat.Erasure) (chat.ErasureResult, error)
	RevokeVisitorTokens(ctx context.Context, visitorID string) ([]string, error)
}

// VisitorLive frees what live chat holds of a visitor whose data goes: it
// closes their open chat (the agent's slot frees) and their sockets on
// every node (package chat/live serves it).
type VisitorLive interface {
	CloseVisitorChats(ctx context.Context, visitorID, reason string) error
	KickVisitorToken(ctx context.Context, visitorID, tokenID string) error
}

// Live is what the ticket API asks of live chat.
type Live interface {
	ChatEscalator
	VisitorLive
}

// ownExport is a visitor's export of their own data.
type ownExport struct {
	ExportedAt time.Time `json:"exported_at"`
	*chat.VisitorExport
}

// customerExport is an admin's export for a customer: every visitor record
// found and the tickets requested under the email that belong to none of
// them.
type customerExport struct {
	ExportedAt time.Time             `json:"exported_at"`
	Email      string                `json:"email,omitempty"`
	Visitors   []*chat.VisitorExport `json:"visitors"`
	Tickets    []chat.ExportTicket   `json:"tickets"`
}

// exportOwn serves GET /api/v1/visitor/export: everything held about the
// visitor, as JSON. The export is audited (that it happened).
func (api *API) exportOwn(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.ExportOwnData)
	if err != nil {
		return err
	}
	x, err := api.store.ExportVisitor(ctx, p.VisitorID)
	if err != nil {
		return err
	}
	if err := api.audit.Record(ctx, p, access.AuditVisitorExported, access.ObjectVisitor, p.VisitorID, ""); err != nil {
		return err
	}
	return exportAnswer(c, "chatd-export-"+p.VisitorID, ownExport{ExportedAt: time.Now().UTC(), VisitorExport: x})
}

// eraseOwn serves DELETE /api/v1/visitor: the visitor's chats, tickets,
// record and tokens are erased, their open chat closed and their sockets
// on every node closed (4001).
func (api *API) eraseOwn(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.EraseOwnData)
	if err != nil {
		return err
	}
	res, err := api.erase(ctx, p, []string{p.VisitorID}, "", "")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"erased": res})
}

// subject reads an admin's ?email= or ?visitor_id= (exactly one).
func subject(c echo.Context) (email, visitorID string, err error) {
	email, visitorID = strings.TrimSpace(c.QueryParam("email")), strings.TrimSpace(c.QueryParam("visitor_id"))
	return CheckSubject(email, visitorID)
}

// CheckSubject checks an admin's choice of customer: an email address or
// a visitor id, exactly one.
func CheckSubject(email, visitorID string) (string, string, error) {
	switch {
	case (email == "") == (visitorID == ""):
		return "", "", chat.Errorf(chat.EInvalid, "name the customer by email or visitor_id (exactly one)")
	case len(email) > 254 || (email != "" && !strings.Contains(email, "@")):
		return "", "", chat.Errorf(chat.EInvalid, "email is not an email address")
	case len(visitorID) > 64:
		return "", "", chat.Errorf(chat.EInvalid, "visitor_id is too long")
	}
	return email, visitorID, nil
}

// customer finds the visitors an admin named: by id, or every visitor who
// gave the email.
func (api *API) customer(ctx context.Context, email, visitorID string) ([]string, error) {
	if visitorID != "" {
		if _, err := api.store.Visitor(ctx, visitorID); err != nil {
			return nil, err
		}
		return []string{visitorID}, nil
	}
	return api.store.VisitorsByEmail(ctx, email)
}

// refusedAdmin audits a staff member's refused try at an admin's action on
// a customer's data and returns err.
func (api *API) refusedAdmin(ctx context.Context, p chat.Principal, action access.Action, err error) error {
	if p.Agent != nil && chat.ErrorCode(err) == chat.EForbidden {
		if aerr := api.audit.Record(ctx, p, string(action)+".denied", access.ObjectVisitor, "", chat.EForbidden); aerr != nil {
			return aerr
		}
	}
	return err
}

// named is the customer an admin's request names: by email or visitor id,
// with the visitor records found and the audit detail of how.
type named struct {
	email, visitorID, detail string
	ids                      []string
}

// namedCustomer asks the policy whether p may take action on a customer's
// data (auditing a staff member's refusal), then reads and finds the
// customer the request names.
func (api *API) namedCustomer(c echo.Context, action access.Action) (chat.Principal, named, error) {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, action)
	if err != nil {
		return p, named{}, api.refusedAdmin(ctx, p, action, err)
	}
	var n named
	if n.email, n.visitorID, err = subject(c); err != nil {
		return p, n, err
	}
	if n.ids, err = api.customer(ctx, n.email, n.visitorID); err != nil {
		return p, n, err
	}
	n.detail = "by visitor_id"
	if n.email != "" {
		n.detail = "by email"
	}
	return p, n, nil
}

// exportCustomer serves GET /api/v1/visitors/export?email=|visitor_id=
// (admin): everything held about a customer. Audited per visitor record.
func (api *API) exportCustomer(c echo.Context) error {
	ctx := c.Request().Context()
	p, who, err := api.namedCustomer(c, access.ExportVisitor)
	if err != nil {
		return err
	}
	out := customerExport{ExportedAt: time.Now().UTC(), Email: who.email, Visitors: []*chat.VisitorExport{}, Tickets: []chat.ExportTicket{}}
	for _, id := range who.ids {
		x, err := api.store.ExportVisitor(ctx, id)
		if err != nil {
			return err
		}
		out.Visitors = append(out.Visitors, x)
	}
	if who.email != "" {
		if out.Tickets, err = api.store.ExportTicketsByEmail(ctx, who.email, who.ids); err != nil {
			return err
		}
	}
	if len(out.Visitors) == 0 && len(out.Tickets) == 0 {
		return chat.Errorf(chat.ENotFound, "nothing is held about this customer")
	}
	for _, id := range who.ids {
		if err := api.audit.Record(ctx, p, access.AuditVisitorExported, access.ObjectVisitor, id, who.detail); err != nil {
			return err
		}
	}
	if len(who.ids) == 0 {
		if err := api.audit.Record(ctx, p, access.AuditVisitorExported, "email", "", who.detail); err != nil {
			return err
		}
	}
	name := "chatd-export"
	if who.visitorID != "" {
		name += "-" + who.visitorID
	}
	return exportAnswer(c, name, out)
}

// eraseCustomer serves DELETE /api/v1/visitors?email=|visitor_id= (admin):
// a customer's data erased as by their own DELETE /api/v1/visitor, for
// every visitor record found and every ticket requested under the email.
func (api *API) eraseCustomer(c echo.Context) error {
	p, who, err := api.namedCustomer(c, access.EraseVisitor)
	if err != nil {
		return err
	}
	res, err := api.erase(c.Request().Context(), p, who.ids, who.email, who.detail)
	if err != nil {
		return err
	}
	if res.Visitors == 0 && res.Tickets == 0 {
		return chat.Errorf(chat.ENotFound, "nothing is held about this customer")
	}
	return c.JSON(http.StatusOK, map[string]any{"erased": res})
}

// erase revokes the visitors' tokens and closes their sockets on every
// node, closes their open chats (reason visitor_erased) so live chat holds
// nothing of theirs, then erases their records in one transaction with its
// audit rows. A chat started in between is closed and the erasure tried
// again.
func (api *API) erase(ctx context.Context, p chat.Principal, visitorIDs []string, email, detail string) (chat.ErasureResult, error) {
	var revoked int64
	for _, id := range visitorIDs {
		tokens, err := api.store.RevokeVisitorTokens(ctx, id)
		if err != nil {
			return chat.ErasureResult{}, err
		}
		revoked += int64(len(tokens))
		if err := api.chats.KickVisitorToken(ctx, id, ""); err != nil {
			return chat.ErasureResult{}, err
		}
	}
	actor := chat.AuditEntry{ActorKind: p.Kind(), ActorID: p.ID(), Action: access.AuditVisitorErased, Detail: detail}
	for attempt := 0; ; attempt++ {
		for _, id := range visitorIDs {
			if err := api.chats.CloseVisitorChats(ctx, id, chat.ReasonErased); err != nil {
				return chat.ErasureResult{}, err
			}
		}
		res, err := api.store.EraseVisitors(ctx, chat.Erasure{VisitorIDs: visitorIDs, Email: email, Revoked: revoked, Audit: actor})
		if chat.ErrorCode(err) == chat.EConflict && attempt < 3 {
			continue
		}
		if err != nil {
			return res, err
		}
		api.changed()
		return res, nil
	}
}

// exportAnswer writes an export as a JSON download that no cache keeps.
func exportAnswer(c echo.Context, name string, v any) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", `attachment; filename="`+name+`.json"`)
	return c.JSON(http.StatusOK, v)
}
