package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/time/rate"

	"github.com/chatd/chatd/assign"
	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
	"github.com/chatd/chatd/chat/accounts"
	"github.com/chatd/chatd/chat/live"
	"github.com/chatd/chatd/store"
	"github.com/chatd/chatd/transcript"
)

// Server is one chatd process: its stores, its services and its HTTP
// routes. Tests start several in one process to form a cluster.
type Server struct {
	Cfg      *Config
	Log      *slog.Logger
	DB       *store.DB
	Redis    *store.Redis
	Echo     *echo.Echo
	Live     *live.Service
	Assign   *assign.Redis
	Auth     *access.Authenticator
	Accounts *accounts.API
	// Retention runs the daily purge (CHAT_RETENTION_DAYS,
	// CHAT_AUDIT_RETENTION_DAYS).
	Retention *store.Retention
	Tickets   *transcript.API
	Hooks     *transcript.Deliverer

	reg  *prometheus.Registry
	stop context.CancelFunc // ends the background loops
	bg   sync.WaitGroup     // the webhook deliverer and the auto-close loop: Close waits for them
}

// New opens the stores, migrates, makes the first admin on an empty
// database (printing its login to out), starts the services and mounts
// every route.
func New(ctx context.Context, cfg *Config, log *slog.Logger, out io.Writer) (*Server, error) {
	s := &Server{Cfg: cfg, Log: log, reg: prometheus.NewRegistry()}
	var err error
	if s.DB, err = OpenStore(ctx, cfg); err != nil {
		return nil, err
	}
	if s.Redis, err = store.OpenRedis(ctx, cfg.RedisURL); err != nil {
		s.DB.Close()
		return nil, err
	}
	if err := s.ensureAdmin(ctx, out); err != nil {
		s.Close()
		return nil, err
	}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := s.start(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.Echo = echo.New()
	s.Echo.HideBanner, s.Echo.HidePort = true, true
	s.Echo.HTTPErrorHandler = errorHandler(log)
	s.Echo.IPExtractor = clientIP(cfg.TrustedProxies)
	s.routes()
	return s, nil
}

var (
	_ transcript.Store = (*store.DB)(nil)
	_ transcript.Live  = (*live.Service)(nil)
)

// OpenStore opens and migrates the database named by the configuration.
func OpenStore(ctx context.Context, cfg *Config) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// start builds the access checks, the assigner, the classifier, live chat
// and the REST services, and starts their background loops.
func (s *Server) start(ctx context.Context) error {
	cfg := s.Cfg
	secret, err := s.DB.Secret(ctx)
	if err != nil {
		return err
	}
	chat.SetMasking(chat.Masking{KeepNationalIDs: !cfg.MaskNationalIDs})
	s.Auth = access.New(access.Config{Prefix: cfg.RedisPrefix, SessionTTL: cfg.SessionTTL,
		VisitorTokenTTL: cfg.VisitorTokenTTL, IdentitySecret: []byte(cfg.IdentitySecret), IdentityRequired: cfg.IdentityRequired,
		TrustedProxies: cfg.TrustedProxies}, s.DB, s.Redis, access.NewSigner(secret), s.Log)
	s.Assign = assign.New(s.Redis, assign.Config{Prefix: cfg.RedisPrefix, Grace: cfg.AgentGrace, Now: cfg.Now})
	s.reg.MustRegister(s.Assign.Collectors()...)
	rules := assign.DefaultRules()
	if cfg.ClassifierRules != "" {
		if rules, err = assign.LoadRules(cfg.ClassifierRules); err != nil {
			return fmt.Errorf("CHAT_CLASSIFIER_RULES: %w", err)
		}
	}
	classifier := assign.NewClassifier(rules)
	s.Live = live.New(live.Config{
		Units: cfg.Units, MaxMessageBytes: cfg.MaxMessageBytes, AllowedOrigins: cfg.AllowedOrigins,
		Prefix: cfg.RedisPrefix, Writers: cfg.DBWriters,
		FrameRate: rate.Limit(cfg.RateConn), FrameBurst: 2 * cfg.RateConn, IPRate: rate.Limit(cfg.RateIP), IPBurst: 2 * cfg.RateIP,
		ConnsPerIP:     cfg.ConnsPerIP,
		VisitorTimeout: cfg.VisitorTimeout, IdleClose: cfg.IdleClose, FirstResponse: cfg.FirstResponseTimeout,
	}, live.Deps{Store: s.DB, Assigner: s.Assign, Classifier: classifier, Escalator: transcript.New(s.DB),
		Auth: s.Auth, Audit: access.NewAuditor(s.DB), Redis: s.Redis, Log: s.Log})
	s.reg.MustRegister(s.Live.Collectors()...)
	s.Accounts = accounts.New(s.DB, s.Auth, s.Live, cfg.Units)
	s.Hooks = transcript.NewDeliverer(transcript.DeliveryConfig{AllowPrivate: cfg.WebhookAllowPrivate}, s.DB, s.Log)
	s.Tickets = transcript.NewAPI(transcript.Config{Units: cfg.Units, MaxMessageBytes: cfg.MaxMessageBytes, AutoClose: cfg.TicketAutoClose},
		s.DB, access.NewAuditor(s.DB), s.Live, func(text string) string { return classifier.Classify(text).Unit }, s.Hooks, s.Log)
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	s.bg.Add(2)
	go func() { defer s.bg.Done(); s.Hooks.Run(bg) }()
	go func() { defer s.bg.Done(); s.Tickets.AutoClose(bg, time.Minute) }()
	if cfg.ClassifierRules != "" {
		go classifier.Watch(bg, cfg.ClassifierRules, 2*time.Second)
	}
	s.Live.StartHub(bg)
	// The daily purge: every node checks hourly, one at a time purges.
	s.Retention = &store.Retention{DB: s.DB, Redis: s.Redis, Prefix: cfg.RedisPrefix, Days: cfg.RetentionDays,
		AuditDays: cfg.AuditRetentionDays, TokenTTL: cfg.VisitorTokenTTL, Log: s.Log}
	go s.Retention.Run(bg, time.Hour)
	return s.Live.Run(bg)
}

// Close stops the background loops and live chat and closes the stores.
func (s *Server) Close() {
	if s.stop != nil {
		s.stop()
	}
	s.bg.Wait() // an attempt in flight records its answer before the store closes
	if s.Live != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.Live.Shutdown(ctx)
		cancel()
	}
	if s.Redis != nil {
		s.Redis.Close()
	}
	if s.DB != nil {
		s.DB.Close()
	}
}

// ensureAdmin creates the first admin when there is no staff at all.
func (s *Server) ensureAdmin(ctx context.Context, out io.Writer) error {
	n, err := s.DB.CountAgents(ctx)
	if err != nil || n > 0 {
		return err
	}
	pw, printed := s.Cfg.AdminPassword, false
	if pw == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		pw, printed = base64.RawURLEncoding.EncodeToString(b), true
	}
	hash, err := access.HashPassword(pw)
	if err != nil {
		return fmt.Errorf("CHAT_ADMIN_PASSWORD: %w", err)
	}
	a := &chat.Agent{Email: s.Cfg.AdminEmail, Name: "Administrator", PasswordHash: hash, Role: chat.RoleAdmin,
		Units: s.Cfg.Units, MaxChats: 5}
	if err := s.DB.CreateAgent(ctx, a); err != nil {
		if chat.ErrorCode(err) == chat.EConflict { // another node made it first
			return nil
		}
		return err
	}
	if printed {
		fmt.Fprintf(out, "First admin created: %s / %s (shown only now)\n", a.Email, pw)
	} else {
		fmt.Fprintf(out, "First admin created: %s (password from CHAT_ADMIN_PASSWORD)\n", a.Email)
	}
	return nil
}

// Serve answers on ln until ctx ends, then drains: it stops accepting,
// closes live sockets with "going away", and waits for in-flight requests
// up to the shutdown timeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// A request must arrive whole within CHAT_REQUEST_TIMEOUT (a body trickled a
	// byte at a time holds a connection no longer), and an idle keep-alive
	// connection is closed after IdleTimeout. WebSockets are unaffected:
	// net/http clears the deadlines when it hands the connection over.
	hs := &http.Server{Handler: s.Echo, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: s.Cfg.RequestTimeout, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.Log.Info("shutting down", "timeout", s.Cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.Cfg.ShutdownTimeout)
	defer cancel()
	s.Live.Shutdown(sctx) // sockets first: the HTTP server does not wait for hijacked connections
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// clientIP decides whose address a request is, for the per-address limits:
// the peer's, unless the peer is a trusted proxy, whose X-Forwarded-For then
// names the client. Trusting the header from anyone would let a client
// choose its own address and slip past every limit.
func clientIP(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
