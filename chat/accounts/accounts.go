package accounts

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
	"github.com/chatd/chatd/chat/rest"
)

// Store is the durable state behind visitors, staff accounts and keys.
type Store interface {
	CreateVisitor(ctx context.Context, v *chat.Visitor) error
	Agent(ctx context.Context, id string) (*chat.Agent, error)
	Agents(ctx context.Context) ([]*chat.Agent, error)
	CreateAgent(ctx context.Context, a *chat.Agent) error
	UpdateAgent(ctx context.Context, a *chat.Agent) error
	DeleteAgentSessions(ctx context.Context, agentID string) error
	CreateUnitAPIKey(ctx context.Context, name string, units []string) (*chat.APIKey, string, error)
	APIKeys(ctx context.Context) ([]*chat.APIKey, error)
	RevokeAPIKey(ctx context.Context, id string) error
	AuditLog(ctx context.Context, limit int, cursor string) ([]chat.AuditEntry, error)
}

// Live is what live chat must hear of account changes and visitor
// sign-ups (package chat/live).
type Live interface {
	AgentChanged(ctx context.Context, before, after *chat.Agent) error
	AllowIP(ip string) bool
}

// API serves the account routes.
type API struct {
	store Store
	auth  *access.Authenticator
	live  Live
	units []string
	// auditor, when set (SetAuditor), records changes to API keys.
	auditor *access.Auditor
}

// SetAuditor makes the API record its changes to API keys in the audit log.
func (api *API) SetAuditor(a *access.Auditor) { api.auditor = a }

// New returns the account routes' handlers.
func New(store Store, auth *access.Authenticator, live Live, units []string) *API {
	return &API{store: store, auth: auth, live: live, units: units}
}

// Register mounts the routes. The request's principal must already be in
// its context (access.WithPrincipal).
func (api *API) Register(e *echo.Echo) {
	e.POST("/api/v1/visitors", api.createVisitor)
	e.POST("/api/v1/auth/login", api.login)
	e.POST("/api/v1/auth/logout", api.logout)
	e.GET("/api/v1/auth/me", api.me)
	e.POST("/api/v1/agents", api.createAgent)
	e.GET("/api/v1/agents", api.listAgents)
	e.PATCH("/api/v1/agents/:id", api.updateAgent)
	e.POST("/api/v1/apikeys", api.createAPIKey)
	e.GET("/api/v1/apikeys", api.listAPIKeys)
	e.DELETE("/api/v1/apikeys/:id", api.revokeAPIKey)
	e.GET("/api/v1/audit", api.auditLog)
}

// createVisitor serves POST /api/v1/visitors: a visitor and their token.
func (api *API) createVisitor(c echo.Context) error {
	var body struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	if c.Request().ContentLength != 0 {
		if err := rest.Bind(c, &body); err != nil {
			return err
		}
	}
	name, email, err := chat.CheckVisitor(body.Name, body.Email)
	if err != nil {
		return err
	}
	if !api.live.AllowIP(c.RealIP()) {
		return chat.Errorf(chat.ERateLimited, "too many requests")
	}
	v := &chat.Visitor{Name: name, Email: email}
	if err := api.store.CreateVisitor(c.Request().Context(), v); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]string{"visitor_id": v.ID, "token": api.auth.Signer().VisitorToken(v.ID)})
}

func (api *API) login(c echo.Context) error {
	var body struct {
		Email    string `json:"email" form:"email"`
		Password string `json:"password" form:"password"`
	}
	if err := rest.Bind(c, &body); err != nil {
		return err
	}
	tok, a, err := api.auth.Login(c.Request().Context(), c.RealIP(), body.Email, body.Password)
	if err != nil {
		return err
	}
	ttl := api.auth.SessionTTL()
	c.SetCookie(&http.Cookie{Name: access.SessionCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: c.Scheme() == "https", MaxAge: int(ttl.Seconds())})
	return c.JSON(http.StatusOK, map[string]any{"token": tok, "agent": a})
}

func (api *API) logout(c echo.Context) error {
	if err := api.auth.Logout(c.Request().Context(), access.Token(c.Request(), false)); err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: access.SessionCookie, Value: "", Path: "/", HttpOnly: true, MaxAge: -1})
	return c.NoContent(http.StatusNoContent)
}

func (api *API) me(c echo.Context) error {
	p, err := access.Require(c.Request().Context(), access.StaffSession)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p.Agent)
}

type agentBody struct {
	Email    *string   `json:"email"`
	Password *string   `json:"password"`
	Name     *string   `json:"name"`
	Units    *[]string `json:"units"`
	MaxChats *int      `json:"max_chats"`
	Role     *string   `json:"role"`
	Disabled *bool     `json:"disabled"`
}

// apply copies the given fields onto a.
func (b agentBody) apply(a *chat.Agent) error {
	if b.Email != nil {
		a.Email = strings.TrimSpace(*b.Email)
	}
	if b.Name != nil {
		a.Name = strings.TrimSpace(*b.Name)
	}
	if b.Units != nil {
		a.Units = *b.Units
	}
	if b.MaxChats != nil {
		a.MaxChats = *b.MaxChats
	}
	if b.Role != nil {
		a.Role = *b.Role
	}
	if b.Disabled != nil {
		a.Disabled = *b.Disabled
	}
	if b.Password != nil {
		h, err := access.HashPassword(*b.Password)
		if err != nil {
			return err
		}
		a.PasswordHash = h
	}
	return nil
}

func (api *API) createAgent(c echo.Context) error {
	if _, err := access.Require(c.Request().Context(), access.ManageStaff); err != nil {
		return err
	}
	var body agentBody
	if err := rest.Bind(c, &body); err != nil {
		return err
	}
	if body.Password == nil {
		return chat.Errorf(chat.EInvalid, "password is required")
	}
	a := &chat.Agent{Role: chat.RoleAgent, MaxChats: 5}
	if err := body.apply(a); err != nil {
		return err
	}
	if err := chat.ValidateAgent(a, api.units); err != nil {
		return err
	}
	if err := api.store.CreateAgent(c.Request().Context(), a); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, a)
}

func (api *API) listAgents(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.ListStaff)
	if err != nil {
		return err
	}
	agents, err := api.store.Agents(ctx)
	if err != nil {
		return err
	}
	out := slices.DeleteFunc(agents, func(a *chat.Agent) bool { return !access.SeesAgent(p, a) })
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

func (api *API) updateAgent(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := access.Require(ctx, access.ManageStaff); err != nil {
		return err
	}
	a, err := api.store.Agent(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	var body agentBody
	if err := rest.Bind(c, &body); err != nil {
		return err
	}
	if body.Email != nil && !strings.EqualFold(*body.Email, a.Email) {
		return chat.Errorf(chat.EInvalid, "email cannot be changed")
	}
	before := *a
	if err := body.apply(a); err != nil {
		return err
	}
	if err := chat.ValidateAgent(a, api.units); err != nil {
		return err
	}
	if err := ChangeAgent(ctx, api.store, api.live, &before, a); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// ChangeAgent stores a changed staff account and applies the change: a
// disabled account or a new password ends every session of the account,
// and live chat closes its sockets and tells the assigner. The command
// line's `chatd agents disable` goes through it too (with a nil live,
// whose nodes learn of it from the ended sessions).
func ChangeAgent(ctx context.Context, store Store, live Live, before, after *chat.Agent) error {
	if err := store.UpdateAgent(ctx, after); err != nil {
		return err
	}
	if after.Disabled || after.PasswordHash != before.PasswordHash {
		if err := store.DeleteAgentSessions(ctx, after.ID); err != nil {
			return err
		}
	}
	if live == nil {
		return nil
	}
	return live.AgentChanged(ctx, before, after)
}

// createAPIKey serves POST /api/v1/apikeys {name, units?} (admin): a key
// for an integrator, optionally limited to units, shown only in this
// answer; only its hash is stored.
func (api *API) createAPIKey(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.ManageKeys)
	if err != nil {
		return err
	}
	var body struct {
		Name  string   `json:"name"`
		Units []string `json:"units"`
	}
	if err := rest.Bind(c, &body); err != nil {
		return err
	}
	name := strings.TrimSpace(body.Name)
	if name == "" || len(body.Name) > 100 {
		return chat.Errorf(chat.EInvalid, "name is required (at most 100 bytes)")
	}
	for _, u := range body.Units {
		if !slices.Contains(api.units, u) {
			return chat.Errorf(chat.EUnknownUnit, "unknown unit %q (units: %s)", u, strings.Join(api.units, ", "))
		}
	}
	k, key, err := api.store.CreateUnitAPIKey(ctx, name, slices.Compact(slices.Sorted(slices.Values(body.Units))))
	if err != nil {
		return err
	}
	if err := api.audit(ctx, p, "apikey.created", k.ID); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"id": k.ID, "key": key, "name": k.Name, "units": k.Units, "created_at": k.CreatedAt})
}

// listAPIKeys serves GET /api/v1/apikeys (admin): every key, revoked ones
// too, never the key itself.
func (api *API) listAPIKeys(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := access.Require(ctx, access.ManageKeys); err != nil {
		return err
	}
	keys, err := api.store.APIKeys(ctx)
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []*chat.APIKey{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": keys})
}

// revokeAPIKey serves DELETE /api/v1/apikeys/{id} (admin): the key is
// unauthorized from now on.
func (api *API) revokeAPIKey(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.ManageKeys)
	if err != nil {
		return err
	}
	if err := api.store.RevokeAPIKey(ctx, c.Param("id")); err != nil {
		return err
	}
	if err := api.audit(ctx, p, "apikey.revoked", c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// audit records an admin's change to the keys, when an audit writer is set.
func (api *API) audit(ctx context.Context, p chat.Principal, action, id string) error {
	if api.auditor == nil {
		return nil
	}
	return api.auditor.Record(ctx, p, action, "apikey", id, "")
}

// auditLog serves GET /api/v1/audit (admin): the access and change log,
// newest first, limit rows (default 100, at most 1000) a page.
func (api *API) auditLog(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := access.Require(ctx, access.ReadAudit); err != nil {
		return err
	}
	limit, err := rest.Limit(c, 100, 1000)
	if err != nil {
		return err
	}
	rows, err := api.store.AuditLog(ctx, limit, c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	next := ""
	if len(rows) == limit {
		next = rows[len(rows)-1].Cursor()
	}
	if rows == nil {
		rows = []chat.AuditEntry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": rows, "next_cursor": next})
}
