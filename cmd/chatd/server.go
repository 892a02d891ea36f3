package main

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
	"net/http/pprof"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/time/rate"

	"github.com/chatd/chatd/assign"
	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store"
)

// server is one chatd process: its stores, its live-chat hub and its HTTP
// routes. Tests start several in one process to form a cluster.
type server struct {
	cfg    *Config
	log    *slog.Logger
	db     *store.DB
	rdb    *store.Redis
	reg    *prometheus.Registry
	echo   *echo.Echo
	chat   *chat.Service
	assign *assign.Redis
	stop   context.CancelFunc // ends the background loops
}

// newServer opens the stores, migrates, makes the first admin on an empty
// database (printing its login to out) and mounts every route.
func newServer(ctx context.Context, cfg *Config, log *slog.Logger, out io.Writer) (*server, error) {
	s := &server{cfg: cfg, log: log, reg: prometheus.NewRegistry()}
	var err error
	if s.db, err = openStore(ctx, cfg); err != nil {
		return nil, err
	}
	if s.rdb, err = store.OpenRedis(ctx, cfg.RedisURL); err != nil {
		s.db.Close()
		return nil, err
	}
	if err := s.ensureAdmin(ctx, out); err != nil {
		s.close()
		return nil, err
	}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := s.startChat(ctx); err != nil {
		s.close()
		return nil, err
	}
	s.echo = echo.New()
	s.echo.HideBanner, s.echo.HidePort = true, true
	s.echo.HTTPErrorHandler = errorHandler(log)
	s.echo.IPExtractor = clientIP(cfg.TrustedProxies)
	s.routes()
	return s, nil
}

// startChat builds the assigner, the classifier and the live-chat service
// and starts their background loops.
func (s *server) startChat(ctx context.Context) error {
	secret, err := s.db.Secret(ctx)
	if err != nil {
		return err
	}
	s.assign = assign.New(s.rdb, assign.Config{Prefix: s.cfg.RedisPrefix, Grace: s.cfg.AgentGrace})
	s.reg.MustRegister(s.assign.Collectors()...)
	rules := assign.DefaultRules()
	if s.cfg.ClassifierRules != "" {
		if rules, err = assign.LoadRules(s.cfg.ClassifierRules); err != nil {
			return fmt.Errorf("CHAT_CLASSIFIER_RULES: %w", err)
		}
	}
	classifier := assign.NewClassifier(rules)
	s.chat = chat.New(chat.Config{
		Units: s.cfg.Units, MaxMessageBytes: s.cfg.MaxMessageBytes, AllowedOrigins: s.cfg.AllowedOrigins,
		Prefix: s.cfg.RedisPrefix, SessionTTL: s.cfg.SessionTTL, Writers: s.cfg.DBWriters,
		FrameRate: rate.Limit(s.cfg.RateConn), FrameBurst: 2 * s.cfg.RateConn, IPRate: rate.Limit(s.cfg.RateIP), IPBurst: 2 * s.cfg.RateIP,
		ConnsPerIP: s.cfg.ConnsPerIP,
	}, chat.Deps{Store: s.db, Staff: s.db, Assigner: s.assign, Classifier: classifier, Redis: s.rdb, Signer: chat.NewSigner(secret), Log: s.log})
	s.reg.MustRegister(s.chat.Collectors()...)
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	if s.cfg.ClassifierRules != "" {
		go classifier.Watch(bg, s.cfg.ClassifierRules, 2*time.Second)
	}
	s.chat.StartHub(bg)
	return s.chat.Run(bg)
}

func (s *server) close() {
	if s.stop != nil {
		s.stop()
	}
	if s.chat != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.chat.Shutdown(ctx)
		cancel()
	}
	if s.rdb != nil {
		s.rdb.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
}

// ensureAdmin creates the first admin when there is no staff at all.
func (s *server) ensureAdmin(ctx context.Context, out io.Writer) error {
	n, err := s.db.CountAgents(ctx)
	if err != nil || n > 0 {
		return err
	}
	pw, printed := s.cfg.AdminPassword, false
	if pw == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		pw, printed = base64.RawURLEncoding.EncodeToString(b), true
	}
	hash, err := chat.HashPassword(pw)
	if err != nil {
		return fmt.Errorf("CHAT_ADMIN_PASSWORD: %w", err)
	}
	a := &chat.Agent{Email: s.cfg.AdminEmail, Name: "Administrator", PasswordHash: hash, Role: chat.RoleAdmin,
		Units: s.cfg.Units, MaxChats: 5}
	if err := s.db.CreateAgent(ctx, a); err != nil {
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

// serve answers on ln until ctx ends, then drains: it stops accepting,
// closes live sockets with "going away", and waits for in-flight requests
// up to the shutdown timeout.
func (s *server) serve(ctx context.Context, ln net.Listener) error {
	// A request must arrive whole within CHAT_REQUEST_TIMEOUT (a body trickled a
	// byte at a time holds a connection no longer), and an idle keep-alive
	// connection is closed after IdleTimeout. WebSockets are unaffected:
	// net/http clears the deadlines when it hands the connection over.
	hs := &http.Server{Handler: s.echo, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: s.cfg.RequestTimeout, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	s.shutdownLive(sctx)
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "chatd serve [flags]", stderr)
	cfg, err := loadConfig(getenv, fs, args)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	s, err := newServer(ctx, cfg, log, stdout)
	if err != nil {
		return err
	}
	defer s.close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("CHAT_ADDR: %w", err)
	}
	if cfg.PprofAddr != "" {
		go servePprof(ctx, cfg.PprofAddr, log)
	}
	base := "http://" + displayAddr(ln.Addr().String())
	fmt.Fprintf(stdout, "chatd listening on %s (database: %s, redis: %s)\n  widget demo: %s/\n  console:     %s/console\n",
		ln.Addr(), s.db.Engine(), redisKind(s.rdb), base, base)
	s.db.Warm(ctx)
	log.Info("serving", "addr", ln.Addr().String(), "database", string(s.db.Engine()), "redis", redisKind(s.rdb))
	return s.serve(ctx, ln)
}

func displayAddr(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err != nil || host == "::" || host == "0.0.0.0" || host == "" {
		return "localhost:" + port
	}
	return net.JoinHostPort(host, port)
}

func redisKind(r *store.Redis) string {
	if r.Embedded() {
		return "embedded"
	}
	return "external"
}

// servePprof serves Go's profiler on its own listener, never on the public
// address, until ctx ends.
func servePprof(ctx context.Context, addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	log.Info("profiler listening", "addr", addr)
	if err := hs.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("profiler", "err", err)
	}
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
