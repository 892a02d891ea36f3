package chat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/chatd/chatd/assign"
)

// StaffStore is the durable state behind logins and staff accounts.
type StaffStore interface {
	CreateVisitor(ctx context.Context, v *Visitor) error
	AgentByEmail(ctx context.Context, email string) (*Agent, error)
	Agent(ctx context.Context, id string) (*Agent, error)
	Agents(ctx context.Context) ([]*Agent, error)
	CreateAgent(ctx context.Context, a *Agent) error
	UpdateAgent(ctx context.Context, a *Agent) error
	CreateSession(ctx context.Context, agentID string, ttl time.Duration) (string, error)
	SessionAgent(ctx context.Context, token string) (*Agent, error)
	DeleteSession(ctx context.Context, token string) error
	DeleteAgentSessions(ctx context.Context, agentID string) error
	CreateAPIKey(ctx context.Context, name string) (id, key string, err error)
	AuditLog(ctx context.Context, limit int, cursor string) ([]AuditEntry, error)
	Audit(ctx context.Context, e AuditEntry) error
}

// SessionCookie names the console's session cookie.
const SessionCookie = "chatd_session"

const staffKey = "chat.staff"

// staffToken finds a staff credential: the session cookie, a bearer token,
// or ?token= (browsers cannot set headers on a WebSocket).
func staffToken(c echo.Context) string {
	if h := c.Request().Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimPrefix(h, "Bearer ")
	}
	if t := c.QueryParam("token"); t != "" {
		return t
	}
	if ck, err := c.Cookie(SessionCookie); err == nil {
		return ck.Value
	}
	return ""
}

func (s *Service) authStaff(c echo.Context) (*Agent, error) {
	tok := staffToken(c)
	if tok == "" {
		return nil, Errorf(EUnauthorized, "log in first")
	}
	return s.staff.SessionAgent(c.Request().Context(), tok)
}

// RequireStaff admits logged-in staff with one of roles (any role when none
// is given) and makes them available to handlers through StaffFrom.
func (s *Service) RequireStaff(roles ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			a, err := s.authStaff(c)
			if err != nil {
				return err
			}
			if len(roles) > 0 && !slices.Contains(roles, a.Role) {
				return Errorf(EForbidden, "this needs the %s role", strings.Join(roles, " or "))
			}
			c.Set(staffKey, a)
			return next(c)
		}
	}
}

// StaffFrom returns the staff member RequireStaff admitted.
func StaffFrom(c echo.Context) *Agent {
	a, _ := c.Get(staffKey).(*Agent)
	return a
}

// loginKey names the count of login attempts from this address for this
// email in the current 15-minute window, kept in Redis so the limit holds
// across the cluster. The email is hashed: a key never grows with input.
func (s *Service) loginKey(c echo.Context, email string) string {
	window := time.Now().Unix() / 900
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return fmt.Sprintf("%slogin:%s:%x:%d", s.cfg.Prefix, c.RealIP(), sum[:16], window)
}

// dummyHash is compared against when the email is unknown, so a wrong email
// takes as long as a wrong password and does not tell who is staff. It is
// made on first use: hashing at start would slow every process that links
// this package.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("not a password of anyone"), bcrypt.DefaultCost)
	return h
})

func (s *Service) login(c echo.Context) error {
	var body struct {
		Email    string `json:"email" form:"email"`
		Password string `json:"password" form:"password"`
	}
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	if body.Email == "" || body.Password == "" {
		return Errorf(EInvalid, "email and password are required, as a JSON object or form fields")
	}
	if len(body.Email) > 254 || len(body.Password) > 1024 {
		return Errorf(EInvalid, "email or password too long")
	}
	ctx := c.Request().Context()
	// The attempt is counted before the password is checked, so parallel
	// attempts cannot race past the limit; a success takes it back.
	key := s.loginKey(c, body.Email)
	pipe := s.rdb.TxPipeline()
	n := pipe.Incr(ctx, key)
	pipe.Expire(ctx, key, 16*time.Minute)
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	if n.Val() > int64(s.cfg.LoginLimit) {
		return Errorf(ETooManyLogins, "too many failed logins; try again in 15 minutes")
	}
	a, err := s.staff.AgentByEmail(ctx, body.Email)
	if err != nil && ErrorCode(err) != ENotFound {
		return err
	}
	var hash []byte
	if a == nil {
		hash = dummyHash()
	} else {
		hash = []byte(a.PasswordHash)
	}
	// Password checks are slow on purpose; at most half the cores do them,
	// so a burst of logins never starves the chats.
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(30 * time.Second): // a login storm: queue, then give up
		return Errorf(EUnavailable, "too many logins at once; try again")
	}
	ok := bcrypt.CompareHashAndPassword(hash, []byte(body.Password)) == nil
	<-s.hashing
	if a == nil || a.Disabled || !ok {
		return Errorf(EUnauthorized, "wrong email or password")
	}
	if err := s.rdb.Decr(ctx, key).Err(); err != nil {
		s.log.Warn("login count", "err", err)
	}
	tok, err := s.staff.CreateSession(ctx, a.ID, s.cfg.SessionTTL)
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: SessionCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: c.Scheme() == "https", MaxAge: int(s.cfg.SessionTTL.Seconds())})
	return c.JSON(http.StatusOK, map[string]any{"token": tok, "agent": a})
}

func (s *Service) logout(c echo.Context) error {
	if tok := staffToken(c); tok != "" {
		if err := s.staff.DeleteSession(c.Request().Context(), tok); err != nil {
			return err
		}
	}
	c.SetCookie(&http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, MaxAge: -1})
	return c.NoContent(http.StatusNoContent)
}

func (s *Service) me(c echo.Context) error { return c.JSON(http.StatusOK, StaffFrom(c)) }

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
func (b agentBody) apply(a *Agent) error {
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
		h, err := HashPassword(*b.Password)
		if err != nil {
			return err
		}
		a.PasswordHash = h
	}
	return nil
}

func (s *Service) createAgent(c echo.Context) error {
	var body agentBody
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	if body.Password == nil {
		return Errorf(EInvalid, "password is required")
	}
	a := &Agent{Role: RoleAgent, MaxChats: 5}
	if err := body.apply(a); err != nil {
		return err
	}
	if err := ValidateAgent(a, s.cfg.Units); err != nil {
		return err
	}
	if err := s.staff.CreateAgent(c.Request().Context(), a); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, a)
}

func (s *Service) listAgents(c echo.Context) error {
	agents, err := s.staff.Agents(c.Request().Context())
	if err != nil {
		return err
	}
	me := StaffFrom(c)
	out := make([]*Agent, 0, len(agents))
	for _, a := range agents {
		if me.Role == RoleAdmin || slices.ContainsFunc(a.Units, me.Serves) {
			out = append(out, a)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

func (s *Service) updateAgent(c echo.Context) error {
	ctx := c.Request().Context()
	a, err := s.staff.Agent(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	var body agentBody
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	if body.Email != nil && !strings.EqualFold(*body.Email, a.Email) {
		return Errorf(EInvalid, "email cannot be changed")
	}
	before := *a
	if err := body.apply(a); err != nil {
		return err
	}
	if err := ValidateAgent(a, s.cfg.Units); err != nil {
		return err
	}
	if err := s.staff.UpdateAgent(ctx, a); err != nil {
		return err
	}
	s.names.Delete(a.ID)
	if a.Disabled && !before.Disabled {
		if err := s.staff.DeleteAgentSessions(ctx, a.ID); err != nil {
			return err
		}
		s.disconnectAgent(ctx, a)
	} else if a.MaxChats != before.MaxChats || a.Name != before.Name || !slices.Equal(a.Units, before.Units) {
		// The assigner learns at once; a raise or a new unit takes waiting
		// chats. An agent it has not seen yet is registered on coming online.
		as, err := s.assign.Update(ctx, assign.Agent{ID: a.ID, Name: a.Name, Units: a.Units, MaxChats: a.MaxChats})
		if err != nil && !errors.Is(err, assign.ErrNotFound) {
			return err
		}
		s.apply(ctx, as)
	}
	return c.JSON(http.StatusOK, a)
}

// disconnectAgent closes a disabled agent's sockets on every node and
// takes them out of assignment; the chats they had wait out the grace
// period like any disconnected agent's and then go back to the queue.
func (s *Service) disconnectAgent(ctx context.Context, a *Agent) {
	if err := s.hub.publish(ctx, s.hub.agentChannel(a.ID), &envelope{Kind: evKick}); err != nil {
		s.log.Warn("disable: close sockets", "agent", a.ID, "err", err)
	}
	if _, err := s.assign.SetPresence(ctx, assign.Agent{ID: a.ID, Name: a.Name, Units: a.Units, MaxChats: a.MaxChats}, assign.StatusOffline); err != nil {
		s.log.Warn("disable: presence", "agent", a.ID, "err", err)
	}
}

// createAPIKey serves POST /api/v1/apikeys (admin): a key for an
// integrator, shown only in this answer; only its hash is stored.
func (s *Service) createAPIKey(c echo.Context) error {
	var body struct {
		Name string `json:"name"`
	}
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.Name) == "" || len(body.Name) > 100 {
		return Errorf(EInvalid, "name is required (at most 100 bytes)")
	}
	id, key, err := s.staff.CreateAPIKey(c.Request().Context(), strings.TrimSpace(body.Name))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]string{"id": id, "key": key, "name": strings.TrimSpace(body.Name)})
}

// auditLog serves GET /api/v1/audit (admin): the access and change log,
// newest first, limit rows (default 100, at most 1000) a page.
func (s *Service) auditLog(c echo.Context) error {
	limit := 100
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return Errorf(EInvalid, "limit must be 1 to 1000")
		}
		limit = n
	}
	rows, err := s.staff.AuditLog(c.Request().Context(), limit, c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	next := ""
	if len(rows) == limit {
		next = rows[len(rows)-1].Cursor()
	}
	if rows == nil {
		rows = []AuditEntry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": rows, "next_cursor": next})
}

// bindJSON decodes a request body that is a JSON object whatever
// Content-Type the client sent (curl -d says form); any other body goes
// through echo's binder, so form fields work too. Its errors are the
// client's: a body too large, not an object, or text holding NUL (which
// PostgreSQL cannot store).
func bindJSON(c echo.Context, v any) error {
	req := c.Request()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge {
			return Errorf(EPayloadTooBig, "request body too large")
		}
		return Errorf(EInvalid, "request body could not be read")
	}
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '{' {
		err = json.Unmarshal(t, v)
	} else {
		req.Body = io.NopCloser(bytes.NewReader(body))
		err = c.Bind(v)
	}
	if err != nil {
		return Errorf(EInvalid, "body must be a JSON object (or form fields) with the documented fields")
	}
	if hasNUL(v) {
		return errNUL
	}
	return nil
}
