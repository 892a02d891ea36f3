package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/cmd/internal/server"

	"github.com/chatd/chatd/store/storetest"
)

// node is one running chatd in the test process.
type node struct {
	*server.Server
	url  string
	out  bytes.Buffer
	stop func() // cancels the node and waits for it to drain; idempotent
}

// testEnv returns a getenv over the given variables.
func testEnv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// startNode runs a server on a loopback port with the given variables until
// the test ends. Nodes given the same database and Redis URLs form a cluster.
func startNode(t *testing.T, vars map[string]string) *node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg, err := server.LoadConfig(testEnv(vars), newFlags("serve", "", io.Discard), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	n.Server, err = server.New(ctx, cfg, log, &n.out)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n.url = "http://" + ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx, ln) }()
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
			n.Close()
		})
	}
	t.Cleanup(n.stop)
	return n
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// clusterVars returns variables for a fresh database and Redis shared by
// every node started with them.
func clusterVars(t *testing.T, extra ...string) map[string]string {
	t.Helper()
	redisURL, prefix := storetest.RedisURL(t)
	vars := map[string]string{
		"CHAT_DATABASE_URL":   storetest.DatabaseURL(t),
		"CHAT_REDIS_URL":      redisURL,
		"CHAT_REDIS_PREFIX":   prefix,
		"CHAT_ADMIN_EMAIL":    "admin@example.com",
		"CHAT_ADMIN_PASSWORD": "admin-password",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		vars[extra[i]] = extra[i+1]
	}
	return vars
}

func getJSON(t *testing.T, url string, into any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if into != nil {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatalf("decode %s: %v", url, err)
		}
	}
	return resp.StatusCode
}

func TestHealthAndReady(t *testing.T) {
	n := startNode(t, clusterVars(t))
	if code := getJSON(t, n.url+"/healthz", nil); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if code := getJSON(t, n.url+"/readyz", &ready); code != 200 || ready.Checks["database"] != "ok" || ready.Checks["redis"] != "ok" {
		t.Fatalf("readyz %d %+v", code, ready)
	}
	resp, err := http.Get(n.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "go_goroutines") {
		t.Fatalf("metrics %d", resp.StatusCode)
	}
	var e server.ErrorBody
	if code := getJSON(t, n.url+"/no/such/path", &e); code != 404 || e.Error.Code != "not_found" {
		t.Fatalf("unknown path: %d %+v", code, e)
	}
}

func TestReadyNamesFailingPart(t *testing.T) {
	n := startNode(t, clusterVars(t))
	n.Redis.Close() // Redis stops answering
	var body struct {
		Checks map[string]string `json:"checks"`
		Error  struct{ Message string }
	}
	code := getJSON(t, n.url+"/readyz", &body)
	if code != 503 || body.Checks["redis"] == "ok" || body.Checks["database"] != "ok" || !strings.Contains(body.Error.Message, "redis") {
		t.Fatalf("readyz with Redis down: %d %+v", code, body)
	}
}

func TestFirstAdmin(t *testing.T) {
	vars := clusterVars(t)
	delete(vars, "CHAT_ADMIN_PASSWORD")
	n := startNode(t, vars)
	if !strings.Contains(n.out.String(), "First admin created: admin@example.com / ") {
		t.Fatalf("no admin login printed: %q", n.out.String())
	}
	// A second node on the same database makes no second admin.
	n2 := startNode(t, vars)
	if n2.out.Len() != 0 {
		t.Fatalf("second node printed %q", n2.out.String())
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name, key, val, want string
	}{
		{"bad addr", "CHAT_ADDR", "8080", "CHAT_ADDR"},
		{"bad size", "CHAT_MAX_MESSAGE_BYTES", "lots", "CHAT_MAX_MESSAGE_BYTES"},
		{"bad unit", "CHAT_UNITS", "General,x", "CHAT_UNITS"},
		{"short password", "CHAT_ADMIN_PASSWORD", "short", "CHAT_ADMIN_PASSWORD"},
		{"bad origin", "CHAT_ALLOWED_ORIGINS", "example.com", "CHAT_ALLOWED_ORIGINS"},
		{"bad grace", "CHAT_AGENT_GRACE", "soon", "CHAT_AGENT_GRACE"},
		{"bad log format", "CHAT_LOG_FORMAT", "xml", "CHAT_LOG_FORMAT"},
		{"bad visitor timeout", "CHAT_VISITOR_TIMEOUT", "3", "CHAT_VISITOR_TIMEOUT"},
		{"idle close under a second", "CHAT_IDLE_CLOSE", "500ms", "CHAT_IDLE_CLOSE"},
		{"negative first response", "CHAT_FIRST_RESPONSE_TIMEOUT", "-90s", "CHAT_FIRST_RESPONSE_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := server.LoadConfig(testEnv(map[string]string{tt.key: tt.val}), newFlags("x", "", io.Discard), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error naming %s", err, tt.want)
			}
		})
	}
	cfg, err := server.LoadConfig(testEnv(nil), newFlags("x", "", io.Discard), []string{"--addr", "127.0.0.1:9999"})
	if err != nil || cfg.Addr != "127.0.0.1:9999" || cfg.MaxMessageBytes != 4096 || cfg.AgentGrace != 30*time.Second || len(cfg.Units) != 4 {
		t.Fatalf("defaults: %+v %v", cfg, err)
	}
	if cfg.VisitorTimeout != 3*time.Minute || cfg.IdleClose != 15*time.Minute || cfg.FirstResponseTimeout != 90*time.Second {
		t.Fatalf("lifecycle defaults: %v %v %v", cfg.VisitorTimeout, cfg.IdleClose, cfg.FirstResponseTimeout)
	}
	off, err := server.LoadConfig(testEnv(map[string]string{"CHAT_VISITOR_TIMEOUT": "0", "CHAT_IDLE_CLOSE": "0", "CHAT_FIRST_RESPONSE_TIMEOUT": "0"}), newFlags("x", "", io.Discard), nil)
	if err != nil || off.VisitorTimeout != 0 || off.IdleClose != 0 || off.FirstResponseTimeout != 0 {
		t.Fatalf("0 turns the limits off: %+v %v", off, err)
	}
}

func TestCommands(t *testing.T) {
	vars := clusterVars(t)
	ctx := context.Background()
	runCmd := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, args, testEnv(vars), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	steps := []struct {
		args    []string
		want    string
		wantErr bool
	}{
		{[]string{"migrate"}, "schema at version", false},
		{[]string{"agents", "create", "--email", "ece@example.com", "--password", "pass-word-1", "--name", "Ece", "--units", "account,financial", "--max-chats", "4"}, "created agent ece@example.com", false},
		{[]string{"agents", "create", "--email", "x@example.com", "--password", "pass-word-1", "--name", "X", "--units", "sales"}, "unknown unit", true},
		{[]string{"agents", "create", "--email", "ece@example.com", "--password", "pass-word-1", "--name", "Ece"}, "exists", true},
		{[]string{"agents", "list"}, "account,financial", false},
		{[]string{"agents", "disable", "--email", "ece@example.com"}, "disabled ece@example.com", false},
		{[]string{"apikeys", "create", "--name", "crm"}, "key: ck_", false},
		{[]string{"apikeys", "create"}, "--name is required", true},
		{[]string{"apikeys", "create", "--name", "erp", "--units", "financial,account"}, "key: ck_", false},
		{[]string{"apikeys", "create", "--name", "erp", "--units", "sales"}, "unknown unit", true},
		{[]string{"purge", "--older-than", "72h"}, "purged 0 chat(s)", false},
		{[]string{"agents", "--help"}, "--max-chats", false},
		{[]string{"serve", "--help"}, "CHAT_DATABASE_URL", true},
		{[]string{"bogus"}, "Usage", true},
	}
	for _, s := range steps {
		out, err := runCmd(s.args...)
		if (err != nil) != s.wantErr {
			t.Fatalf("%v: err %v, want error %v (output %q)", s.args, err, s.wantErr, out)
		}
		if err != nil {
			out += err.Error()
		}
		if !strings.Contains(out, s.want) {
			t.Fatalf("%v: output %q lacks %q", s.args, out, s.want)
		}
	}
}

func TestOpenAPICoversEveryRoute(t *testing.T) {
	n := startNode(t, clusterVars(t))
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if code := getJSON(t, n.url+"/api/v1/openapi.json", &doc); code != 200 || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi.json: %d %q", code, doc.OpenAPI)
	}
	for _, r := range n.Echo.Routes() {
		if r.Method == "echo_route_not_found" || isPageRoute(r.Path) {
			continue
		}
		path := openAPIPath(r.Path)
		ops, ok := doc.Paths[path]
		delete(ops, "parameters")
		if !ok {
			t.Errorf("route %s %s is not in openapi.json (as %s)", r.Method, r.Path, path)
			continue
		}
		if _, ok := ops[strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s %s: method missing in openapi.json", r.Method, r.Path)
		}
	}
}

// openAPIPath turns echo's /a/:id into OpenAPI's /a/{id}.
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// isPageRoute tells the browser pages and assets, which the OpenAPI
// document does not describe.
func isPageRoute(p string) bool {
	return p == "/" || p == "/console" || p == "/widget" || p == "/widget.js" || strings.HasPrefix(p, "/static")
}
