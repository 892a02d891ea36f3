package transcript

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
	"github.com/chatd/chatd/chat/rest"
)

// TicketStore keeps tickets.
type TicketStore interface {
	Ticket(ctx context.Context, id string) (*chat.Ticket, error)
	CreateTicket(ctx context.Context, n chat.NewTicket) (*chat.Ticket, bool, error)
	AddTicketEntry(ctx context.Context, w chat.TicketWrite) (*chat.Ticket, chat.TicketEntry, error)
	ChangeTicket(ctx context.Context, c chat.TicketChange) (*chat.Ticket, error)
	MergeTickets(ctx context.Context, m chat.TicketMerge) (source, target *chat.Ticket, err error)
	Tickets(ctx context.Context, f chat.TicketFilter) ([]*chat.Ticket, string, error)
	TicketEntries(ctx context.Context, ticketID string, withNotes bool) ([]chat.TicketEntry, error)
	TicketEvents(ctx context.Context, ticketID string, withNotes bool) ([]chat.TicketEvent, error)
	TicketQueuePlace(ctx context.Context, t *chat.Ticket) (chat.QueuePlace, error)
	AutoCloseTickets(ctx context.Context, cutoff time.Time, limit int) (int, error)
}

// HistoryStore reads a visitor's past chats and tickets.
type HistoryStore interface {
	Visitor(ctx context.Context, id string) (*chat.Visitor, error)
	VisitorHistory(ctx context.Context, visitorID string, units []string, cursor string, limit int) ([]chat.HistoryItem, string, error)
}

// CannedStore keeps the standard replies.
type CannedStore interface {
	CannedReplies(ctx context.Context, units []string, lang string) ([]*chat.CannedReply, error)
	CannedReply(ctx context.Context, id string) (*chat.CannedReply, error)
	SaveCannedReply(ctx context.Context, c *chat.CannedReply) error
	DeleteCannedReply(ctx context.Context, id string) error
}

// Store is everything the ticket API reads and writes.
type Store interface {
	RecordStore
	TicketStore
	HistoryStore
	CannedStore
	HookStore
	RightsStore
}

// ChatEscalator closes a live chat into a ticket and tells its sockets
// (package chat/live serves it).
type ChatEscalator interface {
	Escalate(ctx context.Context, who chat.Principal, chatID, clientID, subject string) (*chat.Chat, error)
}

// Classifier names the unit a request's text belongs to.
type Classifier func(text string) string

// Config tunes the API; its zero value means the defaults.
type Config struct {
	Units           []string      // default chat.DefaultUnits
	MaxMessageBytes int           // longest ticket text, default 4096
	AutoClose       time.Duration // a solved ticket closes after this long; 0: never
}

// API serves transcripts, tickets, the visitor's history, standard replies
// and webhooks over REST.
type API struct {
	cfg      Config
	store    Store
	audit    *access.Auditor
	chats    Live
	classify Classifier
	hooks    *Deliverer
	log      *slog.Logger
}

// NewAPI returns the ticket API. hooks is woken after every change that
// may have written webhook deliveries.
func NewAPI(cfg Config, store Store, audit *access.Auditor, chats Live, classify Classifier, hooks *Deliverer, log *slog.Logger) *API {
	if len(cfg.Units) == 0 {
		cfg.Units = chat.DefaultUnits
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 4096
	}
	return &API{cfg: cfg, store: store, audit: audit, chats: chats, classify: classify, hooks: hooks, log: log}
}

// Register mounts the routes. The request's principal must already be in
// its context (access.WithPrincipal).
func (api *API) Register(e *echo.Echo) {
	e.GET("/api/v1/transcripts/:id", api.transcript)
	e.GET("/api/v1/visitor/history", api.ownHistory)
	e.GET("/api/v1/visitors/:id/history", api.visitorHistory)
	e.GET("/api/v1/visitor/export", api.exportOwn)
	e.DELETE("/api/v1/visitor", api.eraseOwn)
	e.GET("/api/v1/visitors/export", api.exportCustomer)
	e.DELETE("/api/v1/visitors", api.eraseCustomer)
	e.POST("/api/v1/tickets", api.createTicket)
	e.GET("/api/v1/tickets", api.listTickets)
	e.GET("/api/v1/tickets/:id", api.getTicket)
	e.PATCH("/api/v1/tickets/:id", api.changeTicket)
	e.POST("/api/v1/tickets/:id/replies", api.reply)
	e.POST("/api/v1/tickets/:id/merge", api.merge)
	e.POST("/api/v1/chats/:id/escalate", api.escalate)
	e.GET("/api/v1/canned-replies", api.listCanned)
	e.POST("/api/v1/canned-replies", api.createCanned)
	e.PATCH("/api/v1/canned-replies/:id", api.updateCanned)
	e.DELETE("/api/v1/canned-replies/:id", api.deleteCanned)
	e.POST("/api/v1/webhooks", api.createHook)
	e.GET("/api/v1/webhooks", api.listHooks)
	e.DELETE("/api/v1/webhooks/:id", api.deleteHook)
	e.GET("/api/v1/webhooks/:id/deliveries", api.deliveries)
	e.POST("/api/v1/webhooks/:id/deliveries/:delivery/redeliver", api.redeliver)
}

// changed wakes the webhook deliverer: a change just wrote deliveries.
func (api *API) changed() {
	if api.hooks != nil {
		api.hooks.Wake()
	}
}

// denied writes the audit row of a refused look at an object (not_found:
// not there, or not the principal's to see; forbidden: seen, but not for
// this principal) and returns err unchanged.
func (api *API) denied(ctx context.Context, p chat.Principal, action access.Action, kind, id string, err error) error {
	if code := chat.ErrorCode(err); code == chat.ENotFound || code == chat.EForbidden {
		if aerr := api.audit.Record(ctx, p, string(action)+".denied", kind, id, code); aerr != nil {
			return aerr
		}
	}
	return err
}

// looked writes the audit row of a staff member's or integrator's look at
// a record (a visitor reading their own is not audited).
func (api *API) looked(ctx context.Context, p chat.Principal, action access.Action, kind, id, detail string) error {
	if p.Agent == nil && p.APIKey == nil {
		return nil
	}
	return api.audit.Record(ctx, p, string(action), kind, id, detail)
}

// transcript serves GET /api/v1/transcripts/{id}?format=json|txt|html&lang=.
func (api *API) transcript(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.ReadTranscript)
	if err != nil {
		return err
	}
	format := c.QueryParam("format")
	if err := checkFormat(format); err != nil {
		return err
	}
	id := c.Param("id")
	ch, err := api.store.Chat(ctx, id)
	if err == nil {
		err = access.Chat(p, access.ReadTranscript, ch)
	}
	if err != nil {
		return api.denied(ctx, p, access.ReadTranscript, "chat", id, err)
	}
	if err := api.looked(ctx, p, access.ReadTranscript, "chat", ch.ID, "format="+format); err != nil {
		return err
	}
	rec, err := BuildRecord(ctx, api.store, ch, p.Agent != nil || p.APIKey != nil)
	if err != nil {
		return err
	}
	body, ctype, err := Render(rec, format, Language(c.QueryParam("lang"), c.Request().Header.Get("Accept-Language")))
	if err != nil {
		return err
	}
	if format == FormatHTML || format == FormatText {
		c.Response().Header().Set("Content-Disposition", `inline; filename="chat-`+ch.ID+"."+format+`"`)
	}
	if format == FormatHTML {
		// A page of customers' words on chatd's origin: it runs nothing,
		// loads nothing, tells nobody where it came from and is framed by
		// nobody.
		h := c.Response().Header()
		h.Set("Content-Security-Policy", HTMLPolicy)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, ctype, body)
}

func (api *API) ownHistory(c echo.Context) error {
	p, err := access.Require(c.Request().Context(), access.ReadHistory)
	if err != nil {
		return err
	}
	return api.history(c, p.VisitorID, nil)
}

// visitorHistory serves a staff member's look at a visitor's past chats and
// tickets, of the units they serve; it is audited.
func (api *API) visitorHistory(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.ReadVisitor)
	if err != nil {
		return err
	}
	id := c.Param("id")
	_, err = api.store.Visitor(ctx, id)
	if err == nil {
		seen := true
		if units := access.Units(p); units != nil {
			items, _, herr := api.store.VisitorHistory(ctx, id, units, "", 1)
			if herr != nil {
				return herr
			}
			seen = len(items) > 0
		}
		err = access.Visitor(p, access.ReadVisitor, seen)
	}
	if err != nil {
		return api.denied(ctx, p, access.ReadVisitor, "visitor", id, err)
	}
	if err := api.looked(ctx, p, access.ReadVisitor, "visitor", id, "history"); err != nil {
		return err
	}
	return api.history(c, id, access.Units(p))
}

func (api *API) history(c echo.Context, visitorID string, units []string) error {
	limit, err := rest.Limit(c, 20, 100)
	if err != nil {
		return err
	}
	items, next, err := api.store.VisitorHistory(c.Request().Context(), visitorID, units, c.QueryParam("cursor"), limit)
	if err != nil {
		return err
	}
	if items == nil {
		items = []chat.HistoryItem{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "next_cursor": next})
}

// validUnit reports whether u is a configured unit.
func (api *API) validUnit(u string) bool { return slices.Contains(api.cfg.Units, u) }

func trimmed(s string) string { return strings.TrimSpace(s) }
