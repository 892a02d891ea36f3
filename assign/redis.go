package assign

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Errors returned, wrapped, by Redis methods.
var (
	ErrNotFound         = errors.New("not found")
	ErrAgentUnavailable = errors.New("agent unavailable")
	ErrAgentFull        = errors.New("agent has no free slot")
)

// Config tunes a Redis. Its zero value means the defaults.
type Config struct {
	// Prefix starts every key, default "{chatd}:". Keep it a hash tag so the
	// scripts stay legal in a Redis Cluster.
	Prefix string
	// HeartbeatTTL is how long an agent stays available without a heartbeat,
	// default 15s.
	HeartbeatTTL time.Duration
	// Grace is how long an unavailable agent keeps its chats before Sweep
	// requeues them, default 30s.
	Grace time.Duration
	// Now is the clock, default time.Now.
	Now func() time.Time
	// HandleWindow is how many recent handling times feed the ETA, default 50.
	HandleWindow int
	// DefaultHandle is the handling time assumed before any is known,
	// default 3m.
	DefaultHandle time.Duration
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = "{chatd}:"
	}
	if c.HeartbeatTTL <= 0 {
		c.HeartbeatTTL = 15 * time.Second
	}
	if c.Grace <= 0 {
		c.Grace = 30 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.HandleWindow <= 0 {
		c.HandleWindow = 50
	}
	if c.DefaultHandle <= 0 {
		c.DefaultHandle = 3 * time.Minute
	}
	return c
}

// Agent is what the assigner needs to know about a staff member.
type Agent struct {
	ID, Name string
	Units    []string
	MaxChats int
}

// Assignment reports a chat given to an agent, or, with an empty AgentID,
// a chat put back in its queue. Requeued marks chats Sweep took from an
// agent that was gone for longer than the grace period, From names that
// agent.
type Assignment struct {
	ChatID, Unit, AgentID string
	Requeued              bool
	From                  string
}

// Redis assigns chats using state kept in Redis. It is safe for concurrent
// use, and any number of them may share one Redis.
type Redis struct {
	rdb    redis.UniversalClient
	cfg    Config
	keys   keys
	waited prometheus.Histogram
}

// New returns a Redis working on rdb.
func New(rdb redis.UniversalClient, cfg Config) *Redis {
	cfg = cfg.withDefaults()
	return &Redis{
		rdb:  rdb,
		cfg:  cfg,
		keys: keys(cfg.Prefix),
		waited: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "chatd_assignment_seconds",
			Help:    "Time a chat waited in its queue before it was assigned to an agent.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600},
		}),
	}
}

// keys names the Redis keys; lua/lib.lua builds the same names.
type keys string

func (k keys) heartbeats() string          { return string(k) + "hb" }
func (k keys) disconnects() string         { return string(k) + "disc" }
func (k keys) units() string               { return string(k) + "units" }
func (k keys) arrivals() string            { return string(k) + "seq" }
func (k keys) agent(id string) string      { return string(k) + "agent:" + id }
func (k keys) agentUnits(id string) string { return string(k) + "agentunits:" + id }
func (k keys) unitAgents(u string) string  { return string(k) + "unitagents:" + u }
func (k keys) queue(u string) string       { return string(k) + "queue:" + u }
func (k keys) chat(id string) string       { return string(k) + "chat:" + id }
func (k keys) sockets(id string) string    { return string(k) + "sockets:" + id }
func (k keys) agentChats(id string) string { return string(k) + "agentchats:" + id }

//go:embed lua/*.lua
var luaFiles embed.FS

var (
	presenceScript   = newScript("presence")
	heartbeatScript  = newScript("heartbeat")
	disconnectScript = newScript("disconnect")
	connectScript    = newScript("connect")
	updateScript     = newScript("update")
	restoreScript    = newScript("restore")
	enqueueScript    = newScript("enqueue")
	releaseScript    = newScript("release")
	transferScript   = newScript("transfer")
	sweepScript      = newScript("sweep")
	queueScript      = newScript("queue")
	positionScript   = newScript("position")
	agentsScript     = newScript("agents")
	statsScript      = newScript("stats")
)

// newScript joins the shared helpers and one script's body.
func newScript(name string) *redis.Script {
	lib, err := luaFiles.ReadFile("lua/lib.lua")
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	body, err := luaFiles.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(err)
	}
	return redis.NewScript(string(lib) + "\n" + string(body))
}

// run executes a script with the arguments lua/lib.lua expects first and
// returns its reply as strings.
func (r *Redis) run(ctx context.Context, s *redis.Script, keys []string, args ...any) ([]string, error) {
	argv := append([]any{
		r.cfg.Prefix,
		r.cfg.Now().UnixMilli(),
		r.cfg.HeartbeatTTL.Milliseconds(),
		r.cfg.Grace.Milliseconds(),
		r.cfg.HandleWindow,
	}, args...)
	v, err := s.Run(ctx, r.rdb, keys, argv...).StringSlice()
	if err != nil {
		return nil, err
	}
	return v, nil
}

// mutate runs a script that may assign chats and decodes its reply.
func (r *Redis) mutate(ctx context.Context, s *redis.Script, keys []string, args ...any) ([]Assignment, error) {
	v, err := r.run(ctx, s, keys, args...)
	if err != nil {
		return nil, err
	}
	if len(v) == 0 {
		return nil, errors.New("empty script reply")
	}
	switch v[0] {
	case "ok":
	case "notfound":
		return nil, ErrNotFound
	case "unavailable":
		return nil, ErrAgentUnavailable
	case "full":
		return nil, ErrAgentFull
	default:
		return nil, fmt.Errorf("unexpected script reply %q", v[0])
	}
	v = v[1:]
	if len(v)%6 != 0 {
		return nil, fmt.Errorf("script reply has %d fields, want groups of 6", len(v))
	}
	var out []Assignment
	for ; len(v) > 0; v = v[6:] {
		a := Assignment{ChatID: v[0], Unit: v[1], AgentID: v[2], Requeued: v[4] == "1", From: v[5]}
		if a.AgentID != "" {
			ms, err := strconv.ParseInt(v[3], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("script reply: wait of %s: %w", a.ChatID, err)
			}
			r.waited.Observe(float64(ms) / 1000)
		}
		out = append(out, a)
	}
	return out, nil
}

// atoi parses the integers the scripts reply with.
func atoi(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("script reply: %w", err)
	}
	return n, nil
}
