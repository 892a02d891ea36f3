package server

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chatd/chatd/chat/access"
	"github.com/chatd/chatd/static"
)

//go:embed openapi.json
var openapiJSON []byte

// OpenAPI is the document describing the REST API.
func OpenAPI() []byte { return openapiJSON }

// routes mounts the middleware and every route of the server. Each
// package's Register mounts its own routes; every handler asks the access
// policy, and every error becomes an answer in errorHandler.
func (s *Server) routes() {
	e := s.Echo
	e.Use(middleware.RequestID())
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.Log.Error("panic", "err", err, "path", c.Path(), "stack", string(stack))
			return err
		},
	}))
	e.Use(s.observe())
	e.Use(noSniff)
	e.Use(middleware.BodyLimit("64K")) // every body of the API is small JSON
	e.Use(cleanInput)
	e.Use(s.authenticate)
	e.Use(s.idempotent)

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})))
	e.GET("/api/v1/openapi.json", func(c echo.Context) error { return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openapiJSON) })
	s.Live.Register(e)
	s.Accounts.Register(e)
	s.Tickets.Register(e)
	static.Register(e, static.Config{AllowedOrigins: s.Cfg.AllowedOrigins})
}

// authenticate puts the request's principal (or why its credential was
// refused) in its context, for handlers to ask the access policy about.
// A request without a credential is nobody, which public routes accept.
// A change made with the console's session cookie must pass the CSRF
// check first (access.CheckCSRF). The sockets read their own credentials
// (a browser cannot set headers on a WebSocket, so they also take
// ?token=) and check their origins.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if strings.HasPrefix(r.URL.Path, "/ws/") {
			return next(c)
		}
		token, cookie := access.Credential(r, false)
		p, err := s.Auth.Principal(r.Context(), token)
		if cookie && err == nil && p.Kind() != "" {
			if err := s.Auth.CheckCSRF(r, token); err != nil {
				return err
			}
		}
		c.SetRequest(r.WithContext(access.WithPrincipal(r.Context(), p, err)))
		return next(c)
	}
}

// ready answers 200 only when the database and Redis both answer.
func (s *Server) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "redis": "ok"}
	status := http.StatusOK
	if err := s.DB.Ping(ctx); err != nil {
		checks["database"], status = err.Error(), http.StatusServiceUnavailable
	}
	if err := s.Redis.Ping(ctx).Err(); err != nil {
		checks["redis"], status = err.Error(), http.StatusServiceUnavailable
	}
	if status != http.StatusOK {
		failing := ""
		for _, part := range []string{"database", "redis"} {
			if checks[part] != "ok" {
				failing += part + " "
			}
		}
		return c.JSON(status, map[string]any{
			"status": "unavailable", "checks": checks,
			"error": map[string]string{"code": "unavailable", "message": "not ready: " + failing + "not answering"},
		})
	}
	return c.JSON(status, map[string]any{"status": "ok", "checks": checks})
}

// observe logs each request and records its duration by route.
func (s *Server) observe() echo.MiddlewareFunc {
	hist := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "chatd_http_request_seconds", Help: "HTTP request duration by route and status.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"method", "route", "status"})
	s.reg.MustRegister(hist)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			status := c.Response().Status
			d := time.Since(start)
			hist.WithLabelValues(c.Request().Method, c.Path(), strconv.Itoa(status)).Observe(d.Seconds())
			level := slog.LevelDebug
			if status >= 500 {
				level = slog.LevelWarn
			}
			// The path only: a socket's ?token= is never written down.
			s.Log.Log(c.Request().Context(), level, "http", "method", c.Request().Method, "path", c.Request().URL.Path,
				"status", status, "dur", fmt.Sprint(d.Round(time.Microsecond)), "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
			return nil
		}
	}
}

// noSniff marks every answer, errors included, as what its Content-Type
// says: a browser never guesses a JSON body holding a customer's words to
// be a page or a script. API answers also tell no one where they came from.
func noSniff(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(c.Request().URL.Path, "/api/") {
			h.Set("Referrer-Policy", "no-referrer")
		}
		return next(c)
	}
}
