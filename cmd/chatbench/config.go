package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scenarios, in the order they run.
var allScenarios = []string{"idle", "storm", "conv", "reconnect"}

// Config is chatbench's command line.
type Config struct {
	URL, URL2     string
	AdminEmail    string
	AdminPassword string `json:"-"`
	Scenarios     []string
	Relay         bool
	JSON          string
	Timeout       time.Duration

	Idle       int
	Settle     time.Duration
	Storm      int
	Chats      int
	Rate       int
	Duration   time.Duration
	Saturate   bool
	SatStart   int
	SatMax     int
	SatStep    time.Duration
	Reconnect  int
	Outage     time.Duration
	OutageMsgs int
	MaxChats   int
	P99Goal    time.Duration
}

// seconds is a duration flag that also takes a bare number of seconds.
type seconds struct{ d *time.Duration }

func (s seconds) String() string {
	if s.d == nil {
		return ""
	}
	return s.d.String()
}

func (s seconds) Set(v string) error {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		*s.d = time.Duration(n * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("want seconds or a duration such as 20s, got %q", v)
	}
	*s.d = d
	return nil
}

const usageText = `chatbench: load generator for chatd, beside a bare WebSocket relay.

Usage: chatbench [flags]

It speaks only chatd's public protocol (REST and WebSockets) to the nodes at
-url (and -url2), and runs the conversation load against a bare relay built
into chatbench as well, to show the machine's own limit. Progress goes to
stderr, the results table to stdout, and the full results to -json FILE.

Run chatd with CHAT_RATE_IP_PER_SEC and CHAT_RATE_CONN_PER_SEC raised: every
benchmark socket comes from one address. -url "" runs the relay alone.

Flags:
`

// parseArgs reads the command line and checks it.
func parseArgs(args []string, out io.Writer) (*Config, error) {
	c := &Config{Duration: 10 * time.Second, SatStep: 5 * time.Second, Outage: time.Second, Settle: 5 * time.Second, Timeout: 30 * time.Minute, P99Goal: 10 * time.Millisecond}
	fs := flag.NewFlagSet("chatbench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usageText)
		fs.PrintDefaults()
	}
	scen := strings.Join(allScenarios, ",")
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "chatd node")
	fs.StringVar(&c.URL2, "url2", "", "a second chatd node of the same cluster (optional)")
	fs.StringVar(&c.AdminEmail, "admin-email", "admin@example.com", "admin who creates the benchmark agents")
	fs.StringVar(&c.AdminPassword, "admin-password", "bench-password", "that admin's password")
	fs.StringVar(&scen, "scenarios", scen, "comma list of scenarios: "+strings.Join(allScenarios, ","))
	fs.BoolVar(&c.Relay, "relay", true, "also run the conversation load against the built-in bare relay")
	fs.StringVar(&c.JSON, "json", "", "write the results as JSON to this file")
	fs.Var(seconds{&c.Timeout}, "timeout", "stop everything after this long")
	fs.IntVar(&c.Idle, "idle", 1000, "idle: sockets to hold open")
	fs.Var(seconds{&c.Settle}, "settle", "idle: how long the sockets sit before the second reading, and after closing")
	fs.IntVar(&c.Storm, "storm", 200, "storm: chats started within one second")
	fs.IntVar(&c.Chats, "chats", 200, "conv: active chats")
	fs.IntVar(&c.Rate, "rate", 1000, "conv: messages per second in total, half each way")
	fs.Var(seconds{&c.Duration}, "duration", "conv: how long to send (seconds or a duration)")
	fs.BoolVar(&c.Saturate, "saturate", false, "conv: then step the rate up until p99 > 50ms, on chatd and on the relay")
	fs.IntVar(&c.SatStart, "saturate-start", 1000, "saturate: first rate")
	fs.IntVar(&c.SatMax, "saturate-max", 200000, "saturate: highest rate to try")
	fs.Var(seconds{&c.SatStep}, "saturate-step", "saturate: how long each step sends")
	fs.IntVar(&c.Reconnect, "reconnect", 200, "reconnect: chats whose sockets all drop at once")
	fs.Var(seconds{&c.Outage}, "outage", "reconnect: each socket comes back after a random pause up to this")
	fs.IntVar(&c.OutageMsgs, "outage-messages", 3, "reconnect: messages each side sends per chat on coming back")
	fs.IntVar(&c.MaxChats, "max-chats", 10, "max_chats of each benchmark agent")
	fs.Var(seconds{&c.P99Goal}, "p99-goal", "conv: the chatd p99 visitor->agent latency to meet")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, s := range strings.Split(scen, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(allScenarios, s) {
			return nil, fmt.Errorf("-scenarios: unknown scenario %q (want %s)", s, strings.Join(allScenarios, ","))
		}
		if !slices.Contains(c.Scenarios, s) {
			c.Scenarios = append(c.Scenarios, s)
		}
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	if len(c.Scenarios) == 0 {
		return errors.New("-scenarios: none given")
	}
	for name, u := range map[string]string{"-url": c.URL, "-url2": c.URL2} {
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("%s: want http://host:port, got %q", name, u)
		}
	}
	c.URL, c.URL2 = strings.TrimRight(c.URL, "/"), strings.TrimRight(c.URL2, "/")
	if c.URL == "" && c.URL2 != "" {
		return errors.New("-url2 needs -url")
	}
	if c.URL == "" {
		if !c.Relay || !slices.Contains(c.Scenarios, "conv") {
			return errors.New("-url \"\" runs only the conv scenario on the relay: give -scenarios conv and -relay")
		}
		c.Scenarios = []string{"conv"}
	}
	for name, v := range map[string]int{"-idle": c.Idle, "-storm": c.Storm, "-chats": c.Chats, "-rate": c.Rate,
		"-reconnect": c.Reconnect, "-max-chats": c.MaxChats, "-saturate-start": c.SatStart, "-saturate-max": c.SatMax} {
		if v < 1 {
			return fmt.Errorf("%s: want at least 1, got %d", name, v)
		}
	}
	if c.MaxChats > 100 {
		return errors.New("-max-chats: chatd allows at most 100")
	}
	if c.OutageMsgs < 0 {
		return errors.New("-outage-messages: must not be negative")
	}
	for name, d := range map[string]time.Duration{"-duration": c.Duration, "-saturate-step": c.SatStep, "-timeout": c.Timeout, "-p99-goal": c.P99Goal} {
		if d <= 0 {
			return fmt.Errorf("%s: must be positive", name)
		}
	}
	return nil
}

func (c *Config) has(scenario string) bool { return slices.Contains(c.Scenarios, scenario) }
