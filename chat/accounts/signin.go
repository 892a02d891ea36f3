package accounts

import (
	"context"
	"crypto/subtle"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
	"github.com/chatd/chatd/chat/rest"
)

// SignInStore is what signing in needs of the store besides accounts:
// the audit trail and the visitors sites vouch for.
type SignInStore interface {
	access.AuditStore
	IdentifiedVisitor(ctx context.Context, userID, name, email string) (*chat.Visitor, error)
	AuditLog(ctx context.Context, q chat.AuditQuery) ([]chat.AuditEntry, error)
}

// visitorBody is POST /api/v1/visitors: optional contact details and, for
// a customer signed in at the site, the site's id of them and its
// signature.
type visitorBody struct {
	Name     string `json:"name" form:"name"`
	Email    string `json:"email" form:"email"`
	UserID   string `json:"user_id" form:"user_id"`
	UserHash string `json:"user_hash" form:"user_hash"`
}

// createVisitor serves POST /api/v1/visitors: a visitor and a token for
// this device. With a valid {user_id, user_hash} it is the same visitor on
// every device (and sees the same history); a wrong hash is refused, and
// so is an anonymous visitor where the site requires identity.
func (api *API) createVisitor(c echo.Context) error {
	var body visitorBody
	if c.Request().ContentLength != 0 {
		if err := rest.Bind(c, &body); err != nil {
			return err
		}
	}
	name, email, err := chat.CheckVisitor(body.Name, body.Email)
	if err != nil {
		return err
	}
	// Counted before the signature is checked: guessing signatures costs
	// the address's rate like any sign-up.
	if !api.live.AllowIP(c.RealIP()) {
		return chat.Errorf(chat.ERateLimited, "too many requests")
	}
	if err := api.auth.CheckIdentity(body.UserID, body.UserHash); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var v *chat.Visitor
	if body.UserID != "" {
		if v, err = api.store.IdentifiedVisitor(ctx, body.UserID, name, email); err != nil {
			return err
		}
	} else {
		v = &chat.Visitor{Name: name, Email: email}
		if err := api.store.CreateVisitor(ctx, v); err != nil {
			return err
		}
	}
	tok, err := api.auth.IssueVisitorToken(ctx, v.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]string{"visitor_id": v.ID, "token": tok})
}

// visitorLogout serves POST /api/v1/visitor/logout ("forget me on this
// device"): the token it comes with stops working on every node and the
// sockets opened with it close; the visitor's other devices keep theirs.
func (api *API) visitorLogout(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := access.Require(ctx, access.VisitorSession)
	if err != nil {
		return err
	}
	if err := api.auth.RevokeVisitorToken(ctx, p); err != nil {
		return err
	}
	if err := api.live.KickVisitorToken(ctx, p.VisitorID, p.TokenID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// visitorToken serves GET /api/v1/visitor/token: whether the token it comes
// with is still good (200 with the visitor's id and how long it stays
// valid unused), or 401. The widget asks when its socket will not open, to
// tell a token that expired or was revoked from a network that is down.
// Asking is a use: it moves the token's expiry.
func (api *API) visitorToken(c echo.Context) error {
	p, err := access.Require(c.Request().Context(), access.VisitorSession)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"visitor_id": p.VisitorID, "ttl_seconds": int64(api.auth.Config().VisitorTokenTTL.Seconds())})
}

type loginBody struct {
	Email    string `json:"email" form:"email"`
	Password string `json:"password" form:"password"`
}

// login serves POST /api/v1/auth/login. A browser's login must come from
// chatd's own pages: another site cannot sign a visitor of it into an
// account of its choosing.
func (api *API) login(c echo.Context) error {
	var body loginBody
	if err := rest.Bind(c, &body); err != nil {
		return err
	}
	r := c.Request()
	if !api.auth.SameOrigin(r) {
		return chat.Errorf(chat.ECSRF, "log in from the console's own origin")
	}
	tok, a, err := api.auth.Login(r.Context(), c.RealIP(), body.Email, body.Password)
	if err != nil {
		return err
	}
	for _, ck := range api.auth.SessionCookies(r, tok) {
		c.SetCookie(ck)
	}
	return c.JSON(http.StatusOK, map[string]any{"token": tok, "agent": a, "csrf_token": api.auth.CSRFToken(tok)})
}

func (api *API) logout(c echo.Context) error {
	if err := api.auth.Logout(c.Request().Context(), access.Token(c.Request(), false)); err != nil {
		return err
	}
	for _, ck := range api.auth.SessionCookies(c.Request(), "") {
		c.SetCookie(ck)
	}
	return c.NoContent(http.StatusNoContent)
}

// me serves GET /api/v1/auth/me. A console signed in by cookie whose CSRF
// cookie is missing or stale (a session from before it existed) gets it
// again here, the first call the console makes.
func (api *API) me(c echo.Context) error {
	p, err := access.Require(c.Request().Context(), access.StaffSession)
	if err != nil {
		return err
	}
	r := c.Request()
	if tok, cookie := access.Credential(r, false); cookie {
		want := api.auth.CSRFToken(tok)
		if ck, err := r.Cookie(access.CSRFCookie); err != nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(want)) != 1 {
			c.SetCookie(api.auth.SessionCookies(r, tok)[1])
		}
	}
	return c.JSON(http.StatusOK, p.Agent)
}
