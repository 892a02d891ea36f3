package live

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/chatd/chatd/assign"
	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/access"
)

// Store is the durable state live chat needs.
type Store interface {
	Visitor(ctx context.Context, id string) (*chat.Visitor, error)
	Agent(ctx context.Context, id string) (*chat.Agent, error)
	Chat(ctx context.Context, id string) (*chat.Chat, error)
	OpenChat(ctx context.Context, visitorID string) (*chat.Chat, error)
	AgentChats(ctx context.Context, agentID string) ([]*chat.Chat, error)
	OpenChats(ctx context.Context) ([]*chat.Chat, error)
	StartChat(ctx context.Context, r chat.StartRequest) (*chat.Chat, chat.Outcome, error)
	AppendBatch(ctx context.Context, reqs []chat.AppendRequest) []chat.AppendResult
	Messages(ctx context.Context, chatID, kind string, after int64, limit int) ([]chat.Message, error)
	Transit(ctx context.Context, t chat.Transition) (*chat.Chat, chat.Outcome, error)
	Assign(ctx context.Context, t chat.Transition) (*chat.Chat, *chat.Visitor, chat.Outcome, error)
	Seen(ctx context.Context, principal, clientID string) (bool, error)
	Rate(ctx context.Context, who chat.Principal, clientID, chatID string, rating int, comment string) error
	LiveSessions(ctx context.Context, tokens []string) (map[string]bool, error)
	Answered(ctx context.Context, chatID string, since time.Time) (bool, error)
	AwaitsAnswer(ctx context.Context, chatID string) (bool, error)
	Assignments(ctx context.Context, chatID string) ([]chat.AssignmentRecord, error)
}

// Assigner decides who serves which chat (package assign).
type Assigner interface {
	SetPresence(ctx context.Context, a assign.Agent, status string) ([]assign.Assignment, error)
	Heartbeat(ctx context.Context, agentIDs ...string) error
	Connected(ctx context.Context, agentID, node string) ([]assign.Assignment, error)
	Disconnected(ctx context.Context, agentID, node string) error
	EnqueueChat(ctx context.Context, w assign.Waiting) ([]assign.Assignment, error)
	Release(ctx context.Context, chatID string) ([]assign.Assignment, error)
	Transfer(ctx context.Context, chatID, toUnit, toAgentID string) ([]assign.Assignment, error)
	Sweep(ctx context.Context) ([]assign.Assignment, error)
	Queue(ctx context.Context, unit string) ([]assign.QueuedChat, error)
	Position(ctx context.Context, chatID string) (unit string, pos int, eta time.Duration, err error)
	Available(ctx context.Context, unit string) (int, error)
	Agents(ctx context.Context, unit string) ([]assign.AgentLoad, error)
	Update(ctx context.Context, a assign.Agent) ([]assign.Assignment, error)
	Restore(ctx context.Context, chatID, unit string, priority int, agentID, visitorID string) error
	VisitorConnected(ctx context.Context, visitorID, node string) (assign.VisitorChange, error)
	VisitorDisconnected(ctx context.Context, visitorID, node string) (assign.VisitorChange, error)
	NodeHeartbeat(ctx context.Context, node string, sockets func() map[string]int) error
	Visitors(ctx context.Context, visitorIDs ...string) ([]assign.Presence, error)
	Lifecycle(ctx context.Context, l assign.Limits) ([]assign.Event, error)
	Answered(ctx context.Context, chatIDs ...string) error
	NoResponse(ctx context.Context, chatID, agentID string, assignedAt time.Time) ([]assign.Assignment, error)
}

var _ Assigner = (*assign.Redis)(nil)

// Classifier places a chat's first message in a unit.
type Classifier interface {
	Classify(text string) assign.Result
}

// Escalator closes an open chat into a ticket holding its transcript, in
// one transaction (package transcript).
type Escalator interface {
	Escalate(ctx context.Context, e chat.Escalation) (*chat.Chat, chat.Outcome, error)
}

// Config tunes a Service; its zero value means the defaults.
type Config struct {
	Units           []string      // default chat.DefaultUnits
	MaxMessageBytes int           // default 4096
	AllowedOrigins  []string      // visitor socket origins besides the server's own; "*" for any
	Prefix          string        // Redis channel prefix, default "{chatd}:"
	SendQueue       int           // frames queued per connection before it is cut off, default 512
	StallTimeout    time.Duration // a connection whose write has not gone through this long, with more waiting, is cut off; default 3s
	PingEvery       time.Duration // default 25s
	PingTimeout     time.Duration // default 15s
	FrameRate       rate.Limit    // frames per second per connection, default 50
	FrameBurst      int           // default 100
	IPRate          rate.Limit    // frames per second per client address, default 500
	IPBurst         int           // default 1000
	ConnsPerIP      int           // open sockets per client address on one node, default 1000
	HeartbeatEvery  time.Duration // default 5s; staff sessions are checked as often
	SweepEvery      time.Duration // default 1s
	ResumeWindow    time.Duration // how long a new connection holds live messages for its resume, default 2s
	Writers         int           // parallel group-commit writers, default 1
	MaxBatch        int           // messages per group commit, default 256
	// The lifecycle limits; unlike the fields above, zero turns one off.
	VisitorTimeout time.Duration // a waiting chat whose visitor has been gone this long closes (visitor_left)
	IdleClose      time.Duration // an active chat whose visitor has been gone this long closes, unless they await an answer
	FirstResponse  time.Duration // an assigned chat without an agent's message this long goes to another agent (no_response)
	LifecycleEvery time.Duration // how often the limits are checked, default 1s
}

func (c Config) withDefaults() Config {
	if len(c.Units) == 0 {
		c.Units = chat.DefaultUnits
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
	defd(&c.StallTimeout, 3*time.Second)
	defd(&c.PingEvery, 25*time.Second)
	defd(&c.PingTimeout, 15*time.Second)
	defd(&c.HeartbeatEvery, 5*time.Second)
	defd(&c.SweepEvery, time.Second)
	defd(&c.ResumeWindow, 2*time.Second)
	defd(&c.LifecycleEvery, time.Second)
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
	cfg       Config
	store     Store
	rdb       redis.UniversalClient
	assign    Assigner
	classify  Classifier
	escalator Escalator
	auth      *access.Authenticator
	audit     *access.Auditor
	hub       *Hub
	log       *slog.Logger
	metrics   *metrics
	writers   []chan *pending
	limits    *limits

	names sync.Map // agent id -> cachedName

	posMu     sync.Mutex
	lastPos   map[string]queuePlace // chat -> place last told to this node's visitors
	lastQueue map[string][]byte     // unit -> queue frame last sent to this node's agents
	refresh   map[string]bool

	wg      sync.WaitGroup // connections: Shutdown waits for them
	startMu sync.Mutex     // a connection's wg.Add and Shutdown's closing never cross
	loops   sync.WaitGroup // background loops: they end with Run's context
	closing chan struct{}
	node    string // names this process to the assigner's socket counts
}

// Deps are the Service's collaborators.
type Deps struct {
	Store      Store
	Assigner   Assigner
	Classifier Classifier
	Escalator  Escalator
	Auth       *access.Authenticator
	Audit      *access.Auditor
	Redis      redis.UniversalClient
	Log        *slog.Logger
}

// New makes a Service; call StartHub, then Run, to start it.
func New(cfg Config, d Deps) *Service {
	cfg = cfg.withDefaults()
	s := &Service{
		cfg: cfg, store: d.Store, rdb: d.Redis, assign: d.Assigner, classify: d.Classifier, escalator: d.Escalator,
		auth: d.Auth, audit: d.Audit, log: d.Log, metrics: newMetrics(), limits: newLimits(cfg),
		lastPos: map[string]queuePlace{}, lastQueue: map[string][]byte{}, refresh: map[string]bool{},
		closing: make(chan struct{}), node: uuid.NewString(),
	}
	s.hub = newHub(d.Redis, cfg.Prefix, d.Log)
	s.hub.onUnit = s.onQueueChanged
	s.hub.onResume = s.relayRestored
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
	s.loop(ctx, s.cfg.HeartbeatEvery, s.checkSessions)
	s.loop(ctx, s.cfg.SweepEvery, s.sweep)
	s.loop(ctx, s.cfg.LifecycleEvery, s.lifecycle)
	s.loop(ctx, time.Minute, func(context.Context) { s.limits.prune() })
	return nil
}

// StartHub runs the pub/sub receiver; it must run before Run subscribes.
func (s *Service) StartHub(ctx context.Context) {
	s.loops.Add(1)
	go func() { defer s.loops.Done(); s.hub.run(ctx) }()
}

// relayRestored runs when the pub/sub connection is back after a failure:
// every connection is sent what was stored meanwhile, and chats started
// while Redis was away (stored, not queued) are queued.
func (s *Service) relayRestored() {
	for _, c := range s.hub.all() {
		c.enqueue(item{resync: true})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.recoverLive(ctx); err != nil {
		s.log.Warn("recover live state", "err", err)
	}
	for _, u := range s.cfg.Units {
		s.onQueueChanged(u, nil)
	}
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
		if ch.Status == chat.StatusActive && ch.AgentID != "" {
			if err := s.assign.Restore(ctx, ch.ID, ch.Unit, ch.Priority, ch.AgentID, ch.VisitorID); err != nil {
				return err
			}
		}
	}
	for _, ch := range chats {
		if ch.Status == chat.StatusQueued {
			as, err := s.assign.EnqueueChat(ctx, waiting(ch))
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

// begin counts a connection about to start, unless the node is shutting
// down; the caller calls wg.Done when it ends.
func (s *Service) begin() bool {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	select {
	case <-s.closing:
		return false
	default:
	}
	s.wg.Add(1)
	return true
}

// Shutdown closes every connection with "going away" and waits for the
// connections and loops to end, or for ctx.
func (s *Service) Shutdown(ctx context.Context) {
	s.startMu.Lock()
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
	s.startMu.Unlock()
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

// waiting describes a stored chat for the assigner's queue.
func waiting(ch *chat.Chat) assign.Waiting {
	return assign.Waiting{ChatID: ch.ID, Unit: ch.Unit, Priority: ch.Priority, VisitorID: ch.VisitorID}
}

// heartbeat keeps this node's connected staff live in the assigner, and
// its visitors' sockets counted.
func (s *Service) heartbeat(ctx context.Context) {
	if err := s.assign.NodeHeartbeat(ctx, s.node, s.visitorSockets); err != nil {
		s.log.Warn("node heartbeat", "err", err)
	}
	var ids []string
	seen := map[string]bool{}
	for _, c := range s.hub.all() {
		if a := c.who.Agent; a != nil && !seen[a.ID] {
			seen[a.ID] = true
			ids = append(ids, a.ID)
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

// validUnit reports whether u is a configured unit.
func (s *Service) validUnit(u string) bool { return slices.Contains(s.cfg.Units, u) }
