package chat

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/chatd/chatd/assign"
)

// Store is the durable state the chat package needs.
type Store interface {
	Visitor(ctx context.Context, id string) (*Visitor, error)
	Chat(ctx context.Context, id string) (*Chat, error)
	OpenChat(ctx context.Context, visitorID string) (*Chat, error)
	AgentChats(ctx context.Context, agentID string) ([]*Chat, error)
	OpenChats(ctx context.Context) ([]*Chat, error)
	StartChat(ctx context.Context, r StartRequest) (*Chat, Outcome, error)
	AppendBatch(ctx context.Context, reqs []AppendRequest) []AppendResult
	Messages(ctx context.Context, chatID, kind string, after int64, limit int) ([]Message, error)
	Transit(ctx context.Context, t Transition) (*Chat, Outcome, error)
	Escalate(ctx context.Context, e Escalation) (*Chat, Outcome, error)
	Seen(ctx context.Context, principal, clientID string) (bool, error)
	Rate(ctx context.Context, principal, clientID, chatID, visitorID string, rating int, comment string) error
	Agent(ctx context.Context, id string) (*Agent, error)
}

// Assigner decides who serves which chat (package assign).
type Assigner interface {
	SetPresence(ctx context.Context, a assign.Agent, status string) ([]assign.Assignment, error)
	Heartbeat(ctx context.Context, agentIDs ...string) error
	Connected(ctx context.Context, agentID, node string) error
	Disconnected(ctx context.Context, agentID, node string) error
	Enqueue(ctx context.Context, chatID, unit string, priority int) ([]assign.Assignment, error)
	Release(ctx context.Context, chatID string) ([]assign.Assignment, error)
	Transfer(ctx context.Context, chatID, toUnit, toAgentID string) ([]assign.Assignment, error)
	Sweep(ctx context.Context) ([]assign.Assignment, error)
	Queue(ctx context.Context, unit string) ([]assign.QueuedChat, error)
	Position(ctx context.Context, chatID string) (unit string, pos int, eta time.Duration, err error)
	Available(ctx context.Context, unit string) (int, error)
	Update(ctx context.Context, a assign.Agent) ([]assign.Assignment, error)
	Restore(ctx context.Context, chatID, unit string, priority int, agentID string) error
}

var _ Assigner = (*assign.Redis)(nil)

// Classifier places a chat's first message in a unit.
type Classifier interface {
	Classify(text string) assign.Result
}

// Events hears about chats that ended, for webhooks.
type Events interface {
	ChatEvent(ctx context.Context, event string, c *Chat)
}

// Config tunes a Service; its zero value means the defaults.
type Config struct {
	Units           []string      // default DefaultUnits
	MaxMessageBytes int           // default 4096
	AllowedOrigins  []string      // visitor socket origins besides the server's own; "*" for any
	Prefix          string        // Redis channel prefix, default "{chatd}:"
	SendQueue       int           // frames queued per connection before it is cut off, default 512
	PingEvery       time.Duration // default 25s
	PingTimeout     time.Duration // default 15s
	FrameRate       rate.Limit    // frames per second per connection, default 50
	FrameBurst      int           // default 100
	IPRate          rate.Limit    // frames per second per client address, default 500
	IPBurst         int           // default 1000
	ConnsPerIP      int           // open sockets per client address on one node, default 1000
	HeartbeatEvery  time.Duration // default 5s
	SweepEvery      time.Duration // default 1s
	SessionTTL      time.Duration // staff login lifetime, default 30 days
	LoginLimit      int           // failed logins per address and email in 15 minutes, default 10
	ResumeWindow    time.Duration // how long a new connection holds live messages for its resume, default 2s
	Writers         int           // parallel group-commit writers, default 1
	MaxBatch        int           // messages per group commit, default 256
}

func (c Config) withDefaults() Config {
	if len(c.Units) == 0 {
		c.Units = DefaultUnits
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxMessageBytes, 4096)
	def(&c.SendQueue, 512)
	def(&c.FrameBurst, 100)
	def(&c.IPBurst, 1000)
	def(&c.ConnsPerIP, 1000)
	def(&c.Writers, 1)
	def(&c.MaxBatch, 256)
	defd(&c.PingEvery, 25*time.Second)
	defd(&c.PingTimeout, 15*time.Second)
	defd(&c.HeartbeatEvery, 5*time.Second)
	defd(&c.SweepEvery, time.Second)
	defd(&c.ResumeWindow, 2*time.Second)
	defd(&c.SessionTTL, 30*24*time.Hour)
	def(&c.LoginLimit, 10)
	if c.FrameRate <= 0 {
		c.FrameRate = 50
	}
	if c.IPRate <= 0 {
		c.IPRate = 500
	}
	if c.Prefix == "" {
		c.Prefix = "{chatd}:"
	}
	return c
}

// Service runs live chats on this node: it handles client frames, stores
// and relays messages, applies the assigner's decisions and tells everyone
// concerned.
type Service struct {
	cfg      Config
	store    Store
	staff    StaffStore
	rdb      redis.UniversalClient
	assign   Assigner
	classify Classifier
	events   Events
	signer   *Signer
	hub      *Hub
	log      *slog.Logger
	metrics  *metrics
	writers  []chan *pending

	ipMu     sync.Mutex
	ipLimits map[string]*ipLimit
	ipConns  map[string]int

	names   sync.Map      // agent id -> cachedName
	hashing chan struct{} // password checks under way (at most half the cores)

	posMu     sync.Mutex
	lastPos   map[string]queuePlace // chat -> place last told to this node's visitors
	lastQueue map[string][]byte     // unit -> queue frame last sent to this node's agents
	refresh   map[string]bool

	wg      sync.WaitGroup // connections: Shutdown waits for them
	loops   sync.WaitGroup // background loops: they end with Run's context
	closing chan struct{}
	node    string // names this process to the assigner's socket counts
}

type ipLimit struct {
	lim  *rate.Limiter
	seen time.Time
}

// Deps are the Service's collaborators.
type Deps struct {
	Store      Store
	Staff      StaffStore
	Assigner   Assigner
	Classifier Classifier
	Events     Events // optional
	Redis      redis.UniversalClient
	Signer     *Signer
	Log        *slog.Logger
}

// New makes a Service; call Run to start it.
func New(cfg Config, d Deps) *Service {
	cfg = cfg.withDefaults()
	s := &Service{
		cfg: cfg, store: d.Store, staff: d.Staff, rdb: d.Redis, assign: d.Assigner, classify: d.Classifier, events: d.Events, signer: d.Signer,
		log: d.Log, metrics: newMetrics(), ipLimits: map[string]*ipLimit{}, ipConns: map[string]int{}, lastPos: map[string]queuePlace{}, lastQueue: map[string][]byte{},
		refresh: map[string]bool{}, closing: make(chan struct{}), node: uuid.NewString(),
		hashing: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
	}
	s.hub = newHub(d.Redis, cfg.Prefix, d.Log)
	s.hub.onUnit = s.onQueueChanged
	s.hub.onResume = func() {
		for _, c := range s.hub.all() {
			c.enqueue(item{resync: true})
		}
		// Chats started while Redis was away are stored but not queued.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.recoverLive(ctx); err != nil {
			s.log.Warn("recover live state", "err", err)
		}
		for _, u := range s.cfg.Units {
			s.onQueueChanged(u, nil)
		}
	}
	return s
}

// Collectors are the Service's Prometheus metrics.
func (s *Service) Collectors() []prometheus.Collector { return s.metrics.collectors(s) }

// Run starts the relay, the group-commit writers and the presence loops.
// They stop when ctx ends.
func (s *Service) Run(ctx context.Context) error {
	for _, u := range s.cfg.Units {
		if err := s.hub.subscribe(ctx, s.hub.unitChannel(u), nil); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
	if err := s.recoverLive(ctx); err != nil {
		return err
	}
	s.startWriters(ctx)
	s.loop(ctx, s.cfg.HeartbeatEvery, s.heartbeat)
	s.loop(ctx, s.cfg.SweepEvery, s.sweep)
	s.loop(ctx, time.Minute, func(context.Context) { s.pruneIPLimits() })
	return nil
}

// StartHub runs the pub/sub receiver; it must run before Run subscribes.
func (s *Service) StartHub(ctx context.Context) {
	s.loops.Add(1)
	go func() { defer s.loops.Done(); s.hub.run(ctx) }()
}

// recoverLive puts every open chat of the database back into the live
// state, where Redis lacks it (an embedded Redis starts empty): waiting
// chats into their queues in the order they came, active ones onto their
// agents' load. It is idempotent, so every node runs it at start.
func (s *Service) recoverLive(ctx context.Context) error {
	chats, err := s.store.OpenChats(ctx)
	if err != nil {
		return err
	}
	for _, ch := range chats {
		if ch.Status == StatusActive && ch.AgentID != "" {
			if err := s.assign.Restore(ctx, ch.ID, ch.Unit, ch.Priority, ch.AgentID); err != nil {
				return err
			}
		}
	}
	for _, ch := range chats {
		if ch.Status == StatusQueued {
			as, err := s.assign.Enqueue(ctx, ch.ID, ch.Unit, ch.Priority)
			if err != nil {
				return err
			}
			s.apply(ctx, as)
		}
	}
	if len(chats) > 0 {
		s.log.Info("live state recovered", "open_chats", len(chats))
	}
	return nil
}

func (s *Service) loop(ctx context.Context, every time.Duration, fn func(context.Context)) {
	s.loops.Add(1)
	go func() {
		defer s.loops.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn(ctx)
			}
		}
	}()
}

// Shutdown closes every connection with "going away" and waits for the
// connections and loops to end, or for ctx.
func (s *Service) Shutdown(ctx context.Context) {
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
	for _, c := range s.hub.all() {
		c.close(websocket.StatusGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	s.hub.close()
}

func (s *Service) heartbeat(ctx context.Context) {
	var ids []string
	seen := map[string]bool{}
	for _, c := range s.hub.all() {
		if c.isStaff() && !seen[c.who.agent.ID] {
			seen[c.who.agent.ID] = true
			ids = append(ids, c.who.agent.ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	if err := s.assign.Heartbeat(ctx, ids...); err != nil {
		s.log.Warn("heartbeat", "err", err)
	}
}

func (s *Service) sweep(ctx context.Context) {
	as, err := s.assign.Sweep(ctx)
	if err != nil {
		s.log.Warn("sweep", "err", err)
		return
	}
	s.apply(ctx, as)
}

func (s *Service) ipAllow(ip string) bool {
	s.ipMu.Lock()
	defer s.ipMu.Unlock()
	l := s.ipLimits[ip]
	if l == nil {
		l = &ipLimit{lim: rate.NewLimiter(s.cfg.IPRate, s.cfg.IPBurst)}
		s.ipLimits[ip] = l
	}
	l.seen = time.Now()
	return l.lim.Allow()
}

// holdConn counts an open socket of ip; false when ip has too many.
func (s *Service) holdConn(ip string) bool {
	s.ipMu.Lock()
	defer s.ipMu.Unlock()
	if s.ipConns[ip] >= s.cfg.ConnsPerIP {
		return false
	}
	s.ipConns[ip]++
	return true
}

func (s *Service) releaseConn(ip string) {
	s.ipMu.Lock()
	defer s.ipMu.Unlock()
	if s.ipConns[ip]--; s.ipConns[ip] <= 0 {
		delete(s.ipConns, ip)
	}
}

func (s *Service) pruneIPLimits() {
	s.ipMu.Lock()
	defer s.ipMu.Unlock()
	for ip, l := range s.ipLimits {
		if time.Since(l.seen) > 10*time.Minute {
			delete(s.ipLimits, ip)
		}
	}
}

// validUnit reports whether u is a configured unit.
func (s *Service) validUnit(u string) bool { return slices.Contains(s.cfg.Units, u) }
