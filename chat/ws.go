package chat

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

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
	id, err := s.signer.Visitor(r.URL.Query().Get("token"))
	if err != nil {
		return err
	}
	v, err := s.store.Visitor(r.Context(), id)
	if err != nil {
		if ErrorCode(err) == ENotFound {
			return Errorf(EUnauthorized, "unknown visitor")
		}
		return err
	}
	if !originAllowed(r, s.cfg.AllowedOrigins) {
		return Errorf(EBadOrigin, "origin %q may not open the visitor socket", r.Header.Get("Origin"))
	}
	return s.accept(c, principal{visitorID: v.ID}, v.Name)
}

// agentSocket serves GET /ws/agent for staff, same-origin only.
func (s *Service) agentSocket(c echo.Context) error {
	a, err := s.authStaff(c)
	if err != nil {
		return err
	}
	if !originAllowed(c.Request(), nil) {
		return Errorf(EBadOrigin, "the agent socket is same-origin only")
	}
	return s.accept(c, principal{agent: a}, a.Name)
}

// accept upgrades the request and serves the connection until it ends. It
// always returns nil after the upgrade: the connection is no longer HTTP.
func (s *Service) accept(c echo.Context, who principal, name string) error {
	select {
	case <-s.closing:
		return Errorf(EUnavailable, "server shutting down")
	default:
	}
	ip := c.RealIP()
	if !s.holdConn(ip) {
		return Errorf(ERateLimited, "too many open connections from %s", ip)
	}
	ws, err := websocket.Accept(c.Response(), c.Request(), &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		s.releaseConn(ip)
		return nil
	}
	// JSON may escape each byte of text into up to six.
	ws.SetReadLimit(int64(6*s.cfg.MaxMessageBytes + 4096))
	// The connection is served on a fresh goroutine and the HTTP handler
	// returns: the handler's deep stack is not kept for the socket's life.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.releaseConn(ip)
		s.serve(context.Background(), ws, who, name, ip)
	}()
	return nil
}

func (s *Service) serve(ctx context.Context, ws *websocket.Conn, who principal, name, ip string) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &conn{
		svc: s, ws: ws, who: who, ip: ip, visitorName: name, life: ctx,
		out: newOutbox(s.cfg.SendQueue), done: make(chan struct{}), inflight: make(chan struct{}, 64),
		limiter: rate.NewLimiter(s.cfg.FrameRate, s.cfg.FrameBurst),
		chats:   map[string]*chatState{},
		allowed: map[string]bool{}, channels: map[string]struct{}{},
	}
	s.hub.add(c)
	c.startTimers()
	c.enqueue(item{greet: true})
	err := c.readLoop(ctx) // always the reason the socket ended
	c.logger().Debug("read", "err", err)
	c.pending.Wait()
	c.close(websocket.StatusNormalClosure, "")
	c.out.close()
	cancel()
	c.writers.Wait()
	s.hub.remove(c)
	if who.agent != nil {
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.assign.Disconnected(dctx, who.agent.ID, s.node); err != nil {
			s.log.Warn("disconnected", "agent", who.agent.ID, "err", err)
		}
		dcancel()
	}
}

// greet subscribes the connection to its own channels and to the chats it
// follows from the start, then sends hello and where each chat stands. It
// runs on the writer, which owns the connection's chat state, so the
// chats are read after the subscriptions hold: whatever hello reports as
// last_seq, anything later arrives live.
func (s *Service) greet(ctx context.Context, c *conn) error {
	hello := helloFrame{Type: THello, Units: s.cfg.Units, MaxBytes: s.cfg.MaxMessageBytes}
	var extra [][]byte
	if a := c.who.agent; a != nil {
		channels := []string{s.hub.agentChannel(a.ID)}
		for _, u := range a.Units {
			channels = append(channels, s.hub.unitChannel(u))
		}
		chats, err := s.followFromStart(ctx, c, channels, func() ([]*Chat, error) { return s.store.AgentChats(ctx, a.ID) })
		if err != nil {
			return err
		}
		if chats == nil {
			chats = []*Chat{}
		}
		hello.Role, hello.staffHello = a.Role, &staffHello{Agent: a, Chats: chats}
		if err := s.assign.Connected(ctx, a.ID, s.node); err != nil { // a reconnect within the grace period keeps the chats
			return err
		}
		defer func() { // after hello: the queues as last seen, then any change
			for _, u := range a.Units {
				if f := s.queueSnapshot(u); f != nil {
					c.reply(f)
				}
				s.onQueueChanged(u, nil)
			}
		}()
	} else {
		hello.Role, hello.VisitorID = "visitor", c.who.visitorID
		chats, err := s.followFromStart(ctx, c, []string{s.hub.visitorChannel(c.who.visitorID)}, func() ([]*Chat, error) {
			ch, err := s.store.OpenChat(ctx, c.who.visitorID)
			if ErrorCode(err) == ENotFound {
				return nil, nil
			}
			return []*Chat{ch}, err
		})
		if err != nil {
			return err
		}
		if len(chats) > 0 {
			ch := chats[0]
			hello.Chat = ch
			var f any
			if ch.Status == StatusQueued {
				var q queuedFrame
				q, err = s.queuedFrame(ctx, ch)
				if q.Position > 0 { // 0: assigned meanwhile; chat.assigned follows
					f = q
				}
			} else {
				f, err = s.assignedFrame(ctx, ch, false, nil)
				c.chats[ch.ID].announced = assignment(ch)
			}
			if err != nil {
				return err
			}
			if f != nil {
				extra = append(extra, encode(f))
			}
		}
	}
	if err := c.write(ctx, encode(hello)); err != nil {
		return err
	}
	for _, f := range extra {
		if err := c.write(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// followFromStart subscribes c to its own channels and to the chats load
// returns, then loads them again so the state it returns is no older than
// the subscriptions. The chats are held for the client's resume.
func (s *Service) followFromStart(ctx context.Context, c *conn, channels []string, load func() ([]*Chat, error)) ([]*Chat, error) {
	for _, ch := range channels {
		if err := s.hub.subscribe(ctx, ch, c); err != nil {
			return nil, err
		}
	}
	chats, err := load()
	if err != nil {
		return nil, err
	}
	for _, ch := range chats {
		if err := s.hub.subscribe(ctx, s.hub.chatChannel(ch.ID), c); err != nil {
			return nil, err
		}
	}
	if len(chats) == 0 {
		return nil, nil
	}
	if chats, err = load(); err != nil {
		return nil, err
	}
	for _, ch := range chats {
		if err := s.hub.subscribe(ctx, s.hub.chatChannel(ch.ID), c); err != nil { // one assigned in between
			return nil, err
		}
		c.chats[ch.ID] = &chatState{lastSeq: ch.LastSeq, lastNote: ch.LastNote, base: ch.LastSeq, baseNote: ch.LastNote, paused: true}
		c.allow(ch.ID)
	}
	return chats, nil
}

// createVisitor serves POST /api/v1/visitors.
func (s *Service) createVisitor(c echo.Context) error {
	var body struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	if c.Request().ContentLength != 0 {
		if err := bindJSON(c, &body); err != nil {
			return err
		}
	}
	if len(body.Name) > 100 || len(body.Email) > 254 || (body.Email != "" && !strings.Contains(body.Email, "@")) {
		return Errorf(EInvalid, "name or email is not valid")
	}
	if !s.ipAllow(c.RealIP()) {
		return Errorf(ERateLimited, "too many requests")
	}
	v := &Visitor{Name: strings.TrimSpace(body.Name), Email: strings.TrimSpace(body.Email)}
	if err := s.staff.CreateVisitor(c.Request().Context(), v); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]string{"visitor_id": v.ID, "token": s.signer.VisitorToken(v.ID)})
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

// Register mounts the chat routes.
func (s *Service) Register(e *echo.Echo) {
	e.POST("/api/v1/visitors", s.createVisitor)
	e.GET("/api/v1/units", s.units)
	e.GET("/ws/visitor", s.visitorSocket)
	e.GET("/ws/agent", s.agentSocket)
	e.POST("/api/v1/auth/login", s.login)
	e.POST("/api/v1/auth/logout", s.logout)
	e.GET("/api/v1/auth/me", s.me, s.RequireStaff())
	e.POST("/api/v1/agents", s.createAgent, s.RequireStaff(RoleAdmin))
	e.GET("/api/v1/agents", s.listAgents, s.RequireStaff(RoleAdmin, RoleSupervisor))
	e.PATCH("/api/v1/agents/:id", s.updateAgent, s.RequireStaff(RoleAdmin))
	e.POST("/api/v1/apikeys", s.createAPIKey, s.RequireStaff(RoleAdmin))
	e.GET("/api/v1/audit", s.auditLog, s.RequireStaff(RoleAdmin))
}
