package live

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
)

// Register mounts the live-chat routes: the two sockets, the units and
// the chats' assignment records, the supervisors' board and each unit's
// online agents.
func (s *Service) Register(e *echo.Echo) {
	e.GET("/ws/visitor", s.visitorSocket)
	e.GET("/ws/agent", s.agentSocket)
	e.GET("/api/v1/units", s.units)
	e.GET("/api/v1/chats/:chat_id/assignments", s.assignmentsRoute)
	e.GET("/api/v1/board", s.boardRoute)
	e.GET("/api/v1/units/:unit/agents", s.unitAgentsRoute)
}

// originAllowed checks a browser's Origin: none (not a browser), the
// server's own host, or one listed in allowed ("*" allows any).
func originAllowed(r *http.Request, allowed []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, a := range allowed {
		if a == "*" || strings.EqualFold(strings.TrimRight(a, "/"), u.Scheme+"://"+u.Host) {
			return true
		}
	}
	return false
}

// visitorSocket serves GET /ws/visitor?token=T.
func (s *Service) visitorSocket(c echo.Context) error {
	r := c.Request()
	who, v, err := s.auth.Visitor(r.Context(), r.URL.Query().Get("token"))
	if err != nil {
		return err
	}
	if !originAllowed(r, s.cfg.AllowedOrigins) {
		return chat.Errorf(chat.EBadOrigin, "origin %q may not open the visitor socket", r.Header.Get("Origin"))
	}
	return s.accept(c, who, "", v.Name)
}

// agentSocket serves GET /ws/agent for staff, same-origin only.
func (s *Service) agentSocket(c echo.Context) error {
	r := c.Request()
	token := access.Token(r, true)
	who, err := s.auth.Staff(r.Context(), token)
	if err != nil {
		return err
	}
	if err := access.Allow(who, access.StaffSession); err != nil {
		return err
	}
	if !originAllowed(r, nil) {
		return chat.Errorf(chat.EBadOrigin, "the agent socket is same-origin only")
	}
	return s.accept(c, who, token, who.Agent.Name)
}

// accept upgrades the request and serves the connection until it ends. It
// always returns nil after the upgrade: the connection is no longer HTTP.
func (s *Service) accept(c echo.Context, who chat.Principal, session, name string) error {
	if !s.begin() {
		return chat.Errorf(chat.EUnavailable, "server shutting down")
	}
	ip := c.RealIP()
	if !s.limits.hold(ip) {
		s.wg.Done()
		return chat.Errorf(chat.ERateLimited, "too many open connections from %s", ip)
	}
	ws, err := websocket.Accept(c.Response(), c.Request(), &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		s.limits.release(ip)
		s.wg.Done()
		return nil
	}
	// JSON may escape each byte of text into up to six.
	ws.SetReadLimit(int64(6*s.cfg.MaxMessageBytes + 4096))
	// The connection is served on a fresh goroutine and the HTTP handler
	// returns: the handler's deep stack is not kept for the socket's life.
	go func() {
		defer s.wg.Done()
		defer s.limits.release(ip)
		s.serve(context.Background(), ws, who, session, name, ip)
	}()
	return nil
}

// serve runs one connection: it is greeted on its writer, its frames are
// read here until the socket ends, then it is taken apart.
func (s *Service) serve(ctx context.Context, ws *websocket.Conn, who chat.Principal, session, name, ip string) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := s.newConn(ctx, ws, who, session, name, ip)
	s.hub.add(c)
	select {
	case <-s.closing: // Shutdown passed the hub before this one joined it
		c.close(websocket.StatusGoingAway, "server shutting down")
	default:
	}
	c.enqueue(item{greet: true})
	err := c.readLoop(ctx) // always the reason the socket ended
	c.logger().Debug("read", "err", err)
	c.pending.Wait()
	c.close(websocket.StatusNormalClosure, "")
	c.out.close()
	cancel()
	c.writers.Wait()
	s.hub.remove(c)
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	if a := who.Agent; a != nil {
		if err := s.assign.Disconnected(dctx, a.ID, s.node); err != nil {
			s.log.Warn("disconnected", "agent", a.ID, "err", err)
		}
	} else {
		s.visitorWent(dctx, c)
	}
}

// units serves GET /api/v1/units: the units and whether each has an agent
// online now (the widget offers the written channel when none has).
func (s *Service) units(c echo.Context) error {
	type unit struct {
		Name   string `json:"name"`
		Online int    `json:"agents_online"`
	}
	out := make([]unit, 0, len(s.cfg.Units))
	for _, u := range s.cfg.Units {
		n, err := s.assign.Available(c.Request().Context(), u)
		if err != nil {
			return err
		}
		out = append(out, unit{u, n})
	}
	return c.JSON(http.StatusOK, map[string]any{"units": out})
}

// AllowIP takes one event of a client address from its per-address rate,
// which frames and visitor sign-ups share.
func (s *Service) AllowIP(ip string) bool { return s.limits.allow(ip) }
