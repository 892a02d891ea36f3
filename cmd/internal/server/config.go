// Package server is chatd's wiring: the configuration read from the
// environment, the stores and services built from it, every HTTP route,
// and the one map from error codes to HTTP answers. cmd/chatd runs it;
// cmd/chatbench's in-process test runs the same.
package server

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/chatd/chatd/chat"
)

// Config is the server's configuration, read from CHAT_* variables; flags
// mirror the main ones. Its zero value is not used directly: LoadConfig
// fills the defaults.
type Config struct {
	Addr                string
	DatabaseURL         string
	RedisURL            string
	RedisPrefix         string
	AdminEmail          string
	AdminPassword       string
	AllowedOrigins      []string
	MaxMessageBytes     int
	RetentionDays       int
	Units               []string
	AgentGrace          time.Duration
	ClassifierRules     string
	WebhookAllowPrivate bool
	LogFormat           string
	LogLevel            string
	ShutdownTimeout     time.Duration
	RequestTimeout      time.Duration
	DBWriters           int
	SessionTTL          time.Duration
	AuditRetentionDays  int
	VisitorTokenTTL     time.Duration
	IdentitySecret      string
	IdentityRequired    bool
	MaskNationalIDs     bool
	RateConn            int
	RateIP              int
	ConnsPerIP          int
	PprofAddr           string
	TrustedProxies      []*net.IPNet
	// The lifecycle limits (0: never).
	VisitorTimeout       time.Duration
	IdleClose            time.Duration
	FirstResponseTimeout time.Duration
	// Now is the assigner's clock (tests set it; nil: time.Now). It is
	// not read from the environment.
	Now func() time.Time
	// A solved ticket closes by itself after this long (0: never).
	TicketAutoClose time.Duration
}

// env describes one variable: its name, default and how to parse it.
type env struct {
	name, def, help string
	set             func(string) error
}

func (c *Config) vars() []env {
	str := func(p *string) func(string) error { return func(v string) error { *p = v; return nil } }
	num := func(p *int, min int) func(string) error {
		return func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < min {
				return fmt.Errorf("want a whole number >= %d, got %q", min, v)
			}
			*p = n
			return nil
		}
	}
	dur := func(p *time.Duration) func(string) error {
		return func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return fmt.Errorf("want a duration such as 30s, got %q", v)
			}
			*p = d
			return nil
		}
	}
	boolean := func(p *bool) func(string) error {
		return func(v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want 0 or 1, got %q", v)
			}
			*p = b
			return nil
		}
	}
	// limit is a lifecycle limit: 0 turns it off; otherwise at least a
	// second, which is how often the limits are checked.
	limit := func(p *time.Duration) func(string) error {
		return func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || (d > 0 && d < time.Second) {
				return fmt.Errorf("want 0 (never) or a duration of at least 1s such as 90s or 15m, got %q", v)
			}
			*p = d
			return nil
		}
	}
	list := func(p *[]string) func(string) error {
		return func(v string) error { *p = SplitList(v); return nil }
	}
	return []env{
		{"CHAT_ADDR", ":8080", "listen address", func(v string) error {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("want host:port, got %q", v)
			}
			c.Addr = v
			return nil
		}},
		{"CHAT_DATABASE_URL", "", "postgres:// URL; empty for the embedded SQLite file data/chatd.db", str(&c.DatabaseURL)},
		{"CHAT_REDIS_URL", "", "redis:// URL; empty for the embedded in-process Redis", str(&c.RedisURL)},
		{"CHAT_REDIS_PREFIX", "{chatd}:", "prefix of every Redis key and channel, so installations can share a Redis", str(&c.RedisPrefix)},
		{"CHAT_ADMIN_EMAIL", "admin@localhost", "first admin's email, used on an empty database", str(&c.AdminEmail)},
		{"CHAT_ADMIN_PASSWORD", "", "first admin's password; empty: a random one is printed once", str(&c.AdminPassword)},
		{"CHAT_ALLOWED_ORIGINS", "", "comma list of origins allowed to open the visitor socket and embed the widget; * for any", list(&c.AllowedOrigins)},
		{"CHAT_MAX_MESSAGE_BYTES", "4096", "longest message text in bytes", num(&c.MaxMessageBytes, 1)},
		{"CHAT_RETENTION_DAYS", "365", "days records are kept after their last activity", num(&c.RetentionDays, 1)},
		{"CHAT_UNITS", strings.Join(chat.DefaultUnits, ","), "comma list of units", list(&c.Units)},
		{"CHAT_AGENT_GRACE", "30s", "how long a disconnected agent keeps their chats", dur(&c.AgentGrace)},
		{"CHAT_CLASSIFIER_RULES", "", "JSON file of classification rules, reloaded when it changes; empty for the built-in rules", str(&c.ClassifierRules)},
		{"CHAT_WEBHOOK_ALLOW_PRIVATE", "0", "1 to allow webhook deliveries to loopback and private addresses", func(v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("want 0 or 1, got %q", v)
			}
			c.WebhookAllowPrivate = b
			return nil
		}},
		{"CHAT_LOG_FORMAT", "text", "text or json", func(v string) error {
			if v != "text" && v != "json" {
				return fmt.Errorf("want text or json, got %q", v)
			}
			c.LogFormat = v
			return nil
		}},
		{"CHAT_LOG_LEVEL", "info", "debug, info, warn or error", func(v string) error {
			switch v {
			case "debug", "info", "warn", "error":
				c.LogLevel = v
				return nil
			}
			return fmt.Errorf("want debug, info, warn or error, got %q", v)
		}},
		{"CHAT_SHUTDOWN_TIMEOUT", "15s", "how long a stopping server waits for requests and sockets", dur(&c.ShutdownTimeout)},
		{"CHAT_REQUEST_TIMEOUT", "30s", "how long a client may take to send a whole HTTP request (a trickled body is cut off)", dur(&c.RequestTimeout)},
		{"CHAT_RATE_CONN_PER_SEC", "50", "frames per second one connection may send (bursts of twice that)", num(&c.RateConn, 1)},
		{"CHAT_RATE_IP_PER_SEC", "500", "frames and requests per second one client address may send (bursts of twice that)", num(&c.RateIP, 1)},
		{"CHAT_CONNS_PER_IP", "1000", "open WebSockets one client address may hold on one node", num(&c.ConnsPerIP, 1)},
		{"CHAT_TRUSTED_PROXIES", "", "comma list of proxy addresses or CIDRs whose X-Forwarded-For is believed; empty: the peer address is the client's", func(v string) error {
			c.TrustedProxies = nil
			for _, item := range SplitList(v) {
				if !strings.Contains(item, "/") {
					if ip := net.ParseIP(item); ip != nil && ip.To4() != nil {
						item += "/32"
					} else {
						item += "/128"
					}
				}
				_, n, err := net.ParseCIDR(item)
				if err != nil {
					return fmt.Errorf("%q is not an address or CIDR", item)
				}
				c.TrustedProxies = append(c.TrustedProxies, n)
			}
			return nil
		}},
		{"CHAT_PPROF_ADDR", "", "address for Go's profiler (net/http/pprof), e.g. 127.0.0.1:6060; empty: off", str(&c.PprofAddr)},
		{"CHAT_SESSION_TTL", "720h", "how long a staff login lasts", dur(&c.SessionTTL)},
		{"CHAT_AUDIT_RETENTION_DAYS", "730", "days audit rows are kept (longer than the records they speak of)", num(&c.AuditRetentionDays, 1)},
		{"CHAT_VISITOR_TOKEN_TTL", "2160h", "how long an unused visitor token stays valid (each use extends it)", dur(&c.VisitorTokenTTL)},
		{"CHAT_IDENTITY_SECRET", "", "secret sites sign their signed-in customers' ids with (user_hash = hex HMAC-SHA256 of user_id); empty: identity claims are refused", str(&c.IdentitySecret)},
		{"CHAT_IDENTITY_REQUIRED", "0", "1: only visitors with a valid user_id and user_hash get a token", boolean(&c.IdentityRequired)},
		{"CHAT_MASK_NATIONAL_IDS", "1", "1 masks Turkish national id numbers (11 digits with their checksum) like card numbers and IBANs", boolean(&c.MaskNationalIDs)},
		{"CHAT_VISITOR_TIMEOUT", "3m", "a waiting chat whose visitor has had no socket this long leaves the queue (reason visitor_left); 0: never", limit(&c.VisitorTimeout)},
		{"CHAT_IDLE_CLOSE", "15m", "an active chat whose visitor has been gone this long, with no message of theirs unanswered, closes (reason visitor_left); 0: never", limit(&c.IdleClose)},
		{"CHAT_FIRST_RESPONSE_TIMEOUT", "90s", "an assigned chat with no agent message this long goes to the next agent (reason no_response); 0: off", limit(&c.FirstResponseTimeout)},
		{"CHAT_TICKET_AUTOCLOSE", "168h", "a solved ticket closes by itself after this long; 0: never", dur(&c.TicketAutoClose)},
		{"CHAT_DB_WRITERS", "1", "group-commit writers per node: each stores its share of the chats' messages, one transaction at a time", num(&c.DBWriters, 1)},
	}
}

// LoadConfig reads the environment, then the flags (which win), and
// validates every value, naming the variable at fault.
func LoadConfig(getenv func(string) string, fs *flag.FlagSet, args []string) (*Config, error) {
	c := &Config{}
	vars := c.vars()
	for _, v := range vars {
		val := getenv(v.name)
		if val == "" {
			val = v.def
		}
		if err := v.set(val); err != nil {
			return nil, fmt.Errorf("%s: %w", v.name, err)
		}
	}
	addr := fs.String("addr", c.Addr, "listen address (CHAT_ADDR)")
	dbURL := fs.String("database-url", c.DatabaseURL, "database URL (CHAT_DATABASE_URL)")
	redisURL := fs.String("redis-url", c.RedisURL, "Redis URL (CHAT_REDIS_URL)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for name, val := range map[string]string{"CHAT_ADDR": *addr, "CHAT_DATABASE_URL": *dbURL, "CHAT_REDIS_URL": *redisURL} {
		for _, v := range vars {
			if v.name == name {
				if err := v.set(val); err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
			}
		}
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	if len(c.Units) == 0 {
		return errors.New("CHAT_UNITS: at least one unit is needed")
	}
	for _, u := range c.Units {
		if !validName(u) {
			return fmt.Errorf("CHAT_UNITS: %q is not a unit name (lower-case letters, digits, '-' and '_')", u)
		}
	}
	if c.AdminPassword != "" && len(c.AdminPassword) < 8 {
		return errors.New("CHAT_ADMIN_PASSWORD: at least 8 characters")
	}
	if !strings.Contains(c.AdminEmail, "@") {
		return fmt.Errorf("CHAT_ADMIN_EMAIL: %q is not an email address", c.AdminEmail)
	}
	if c.IdentityRequired && c.IdentitySecret == "" {
		return errors.New("CHAT_IDENTITY_REQUIRED: needs CHAT_IDENTITY_SECRET")
	}
	if c.IdentitySecret != "" && len(c.IdentitySecret) < 16 {
		return errors.New("CHAT_IDENTITY_SECRET: at least 16 characters")
	}
	if c.VisitorTokenTTL < time.Second {
		return errors.New("CHAT_VISITOR_TOKEN_TTL: at least 1s")
	}
	for _, o := range c.AllowedOrigins {
		if o != "*" && !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
			return fmt.Errorf("CHAT_ALLOWED_ORIGINS: %q must be * or start with http:// or https://", o)
		}
	}
	return nil
}

// Usage lists the variables for --help.
func Usage() string {
	var b strings.Builder
	b.WriteString("\nEnvironment:\n")
	for _, v := range (&Config{}).vars() {
		def := v.def
		if def == "" {
			def = "(empty)"
		}
		fmt.Fprintf(&b, "  %-28s %s (default %s)\n", v.name, v.help, def)
	}
	return b.String()
}

// SplitList splits a comma list, dropping empty items.
func SplitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
