package assign

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
// a chat put back in its queue. Requeued marks chats taken from their
// agent (Sweep: gone past the grace period; NoResponse: left unanswered),
// From names that agent and Reason says why.
type Assignment struct {
	ChatID, Unit, AgentID string
	Requeued              bool
	From                  string
	Reason                string // ReasonAgentUnavailable or ReasonNoResponse, with Requeued
	// Rule is what chose the agent (RuleLowestLoad, RuleNamedAgent); for a
	// chat left waiting, the Reason.
	Rule string
	// Waited is how long the chat had waited in its queue.
	Waited time.Duration
	// Candidates are the agents the rule weighed at that instant, best
	// first, the chosen one marked.
	Candidates []Candidate
	// The chat's visitor: connected now, or since when gone (zero when
	// connected or not known).
	VisitorOnline bool
	VisitorLeftAt time.Time
}

// Candidate is an agent weighed for a chat.
type Candidate struct {
	AgentID   string
	Load, Max int
	// FreeSince is the later of the agent's last assignment and the moment
	// it came online: among equal loads the one free the longest wins.
	FreeSince time.Time
	Chosen    bool
	Excluded  bool // left this chat unanswered before
}

// Rules and reasons of assignments.
const (
	RuleLowestLoad         = "lowest_load"
	RuleNamedAgent         = "named_agent"
	ReasonAgentUnavailable = "agent_unavailable"
	ReasonNoResponse       = "no_response"
)

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
func (k keys) nodes() string               { return string(k) + "nodes" }
func (k keys) visitorsGone() string        { return string(k) + "vgone" }
func (k keys) unanswered() string          { return string(k) + "unanswered" }
func (k keys) visitorSockets(v string) string {
	return string(k) + "vsock:" + v
}
func (k keys) nodeVisitors(n string) string { return string(k) + "nodevis:" + n }

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
	vconnectScript   = newScript("vconnect")
	vdisconnScript   = newScript("vdisconnect")
	vnodeScript      = newScript("vnode")
	visitorsScript   = newScript("visitors")
	lifecycleScript  = newScript("lifecycle")
	answeredScript   = newScript("answered")
	noResponseScript = newScript("noresponse")
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
	out, err := parseAssignments(v[1:])
	if err != nil {
		return nil, err
	}
	for _, a := range out {
		if a.AgentID != "" {
			r.waited.Observe(a.Waited.Seconds())
		}
	}
	return out, nil
}

// parseAssignments reads the groups of a mutating script's reply
// (lua/lib.lua: reply).
func parseAssignments(v []string) ([]Assignment, error) {
	var out []Assignment
	for len(v) > 0 {
		if len(v) < 10 {
			return nil, fmt.Errorf("script reply: %d fields left, want at least 10", len(v))
		}
		a := Assignment{ChatID: v[0], Unit: v[1], AgentID: v[2], From: v[5], Rule: v[6], VisitorOnline: v[7] == "1"}
		if v[4] != "0" && v[4] != "" {
			a.Requeued, a.Reason = true, v[4]
		}
		ms, err := strconv.ParseInt(v[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("script reply: wait of %s: %w", a.ChatID, err)
		}
		a.Waited = time.Duration(ms) * time.Millisecond
		if left, err := strconv.ParseInt(v[8], 10, 64); err == nil && left > 0 && !a.VisitorOnline {
			a.VisitorLeftAt = time.UnixMilli(left).UTC()
		}
		n, err := atoi(v[9])
		if err != nil || n < 0 || len(v) < 10+5*n {
			return nil, fmt.Errorf("script reply: candidates of %s: %q", a.ChatID, v[9])
		}
		c := v[10:]
		for i := 0; i < n; i, c = i+1, c[5:] {
			cand := Candidate{AgentID: c[0], Chosen: strings.Contains(c[4], "c"), Excluded: strings.Contains(c[4], "x")}
			if cand.Load, err = atoi(c[1]); err != nil {
				return nil, err
			}
			if cand.Max, err = atoi(c[2]); err != nil {
				return nil, err
			}
			since, err := strconv.ParseInt(c[3], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("script reply: %w", err)
			}
			if since > 0 {
				cand.FreeSince = time.UnixMilli(since).UTC()
			}
			a.Candidates = append(a.Candidates, cand)
		}
		out = append(out, a)
		v = v[10+5*n:]
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
