package main

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

	"github.com/chatd/chatd/static"
)

//go:embed openapi.json
var openapiJSON []byte

// routes mounts every route of the server; this is the one place to read
// the whole HTTP surface.
func (s *server) routes() {
	e := s.echo
	e.Use(middleware.RequestID())
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.log.Error("panic", "err", err, "path", c.Path(), "stack", string(stack))
			return err
		},
	}))
	e.Use(s.observe())
	e.Use(middleware.BodyLimit("64K")) // every body of the API is small JSON

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})))
	e.GET("/api/v1/openapi.json", func(c echo.Context) error { return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openapiJSON) })
	s.chat.Register(e)
	static.Register(e, static.Config{AllowedOrigins: s.cfg.AllowedOrigins})
}

// shutdownLive closes live sockets with "going away" before the HTTP server
// stops.
func (s *server) shutdownLive(ctx context.Context) { s.chat.Shutdown(ctx) }

// ready answers 200 only when the database and Redis both answer.
func (s *server) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "redis": "ok"}
	status := http.StatusOK
	if err := s.db.Ping(ctx); err != nil {
		checks["database"], status = err.Error(), http.StatusServiceUnavailable
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
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
func (s *server) observe() echo.MiddlewareFunc {
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
			s.log.Log(c.Request().Context(), level, "http", "method", c.Request().Method, "path", c.Request().URL.Path,
				"status", status, "dur", fmt.Sprint(d.Round(time.Microsecond)), "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
			return nil
		}
	}
}

// isPageRoute tells the browser pages and assets, which the OpenAPI
// document does not describe.
func isPageRoute(p string) bool {
	return p == "/" || p == "/console" || p == "/widget" || p == "/widget.js" || strings.HasPrefix(p, "/static")
}
