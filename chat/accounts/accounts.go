package accounts

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
	"github.com/chatd/chatd/chat/rest"
)

// Store is the durable state behind visitors, staff accounts and keys.
type Store interface {
	SignInStore
	CreateVisitor(ctx context.Context, v *chat.Visitor) error
	Agent(ctx context.Context, id string) (*chat.Agent, error)
	Agents(ctx context.Context) ([]*chat.Agent, error)
	CreateAgent(ctx context.Context, a *chat.Agent) error
	UpdateAgent(ctx context.Context, a *chat.Agent) error
	DeleteAgentSessions(ctx context.Context, agentID string) error
	CreateUnitAPIKey(ctx context.Context, name string, units []string) (*chat.APIKey, string, error)
	APIKeys(ctx context.Context) ([]*chat.APIKey, error)
	RevokeAPIKey(ctx context.Context, id string) error
}

// Live is what live chat must hear of account changes and visitor
// sign-ups (package chat/live).
type Live interface {
	AgentChanged(ctx context.Context, before, after *chat.Agent) error
	AllowIP(ip string) bool
	// KickVisitorToken closes, on every node, the sockets opened with a
	// visitor token that was just revoked.
	KickVisitorToken(ctx context.Context, visitorID, tokenID string) error
}

// API serves the account routes.
type API struct {
	store Store
	auth  *access.Authenticator
	live  Live
	units []string
}

// New returns the account routes' handlers.
func New(store Store, auth *access.Authenticator, live Live, units []string) *API {
	return &API{store: store, auth: auth, live: live, units: units}
}

// Register mounts the routes. The request's principal must already be in
// its context (access.WithPrincipal).
func (api *API) Register(e *echo.Echo) {
	e.POST("/api/v1/visitors", api.createVisitor)
	e.POST("/api/v1/visitor/logout", api.visitorLogout)
	e.GET("/api/v1/visitor/token", api.visitorToken)
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
	if err := auditAgentCreated(c.Request().Context(), api.store, a); err != nil {
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
	if err := auditAgentChanged(ctx, store, before, after); err != nil {
		return err
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
	if _, err := access.Require(ctx, access.ManageKeys); err != nil {
		return err
	}
	var body keyBody
	if err := rest.Bind(c, &body); err != nil {
		return err
	}
	name, units, err := checkKey(body, api.units)
	if err != nil {
		return err
	}
	k, key, err := api.store.CreateUnitAPIKey(ctx, name, units)
	if err != nil {
		return err
	}
	if err := auditKeyCreated(ctx, api.store, k.ID, k.Name); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"id": k.ID, "key": key, "name": k.Name, "units": k.Units, "created_at": k.CreatedAt})
}

type keyBody struct {
	Name  string   `json:"name"`
	Units []string `json:"units"`
}

// checkKey checks a new API key's body: a name (trimmed, at most 100
// bytes) and the configured units it is limited to (sorted, repeats
// dropped; none: every unit).
func checkKey(b keyBody, known []string) (string, []string, error) {
	name := strings.TrimSpace(b.Name)
	if name == "" || len(b.Name) > 100 || !utf8.ValidString(name) {
		return "", nil, chat.Errorf(chat.EInvalid, "name is required (at most 100 bytes)")
	}
	for _, u := range b.Units {
		if !slices.Contains(known, u) {
			return "", nil, chat.Errorf(chat.EUnknownUnit, "unknown unit %q (units: %s)", u, strings.Join(known, ", "))
		}
	}
	return name, slices.Compact(slices.Sorted(slices.Values(b.Units))), nil
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
	if _, err := access.Require(ctx, access.ManageKeys); err != nil {
		return err
	}
	if err := api.store.RevokeAPIKey(ctx, c.Param("id")); err != nil {
		return err
	}
	au, p := auditor(ctx, api.store)
	if err := au.Record(ctx, p, access.AuditKeyRevoked, access.ObjectAPIKey, c.Param("id"), ""); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
