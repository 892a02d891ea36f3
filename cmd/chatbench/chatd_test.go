package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/cmd/internal/server"
)

// startChatd runs chatd inside the test process, wired exactly as
// cmd/chatd wires it (package server), so that `go test -cpuprofile` can
// profile the server under chatbench's load: chatd itself serves no pprof.
// dbURL and redisURL as CHAT_DATABASE_URL and CHAT_REDIS_URL ("" for the
// embedded defaults). It returns the base URL.
func startChatd(tb testing.TB, dbURL, redisURL string, units []string) string {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(tb.TempDir(), "chatd.db")
	}
	env := map[string]string{
		"CHAT_DATABASE_URL": dbURL, "CHAT_REDIS_URL": redisURL,
		"CHAT_REDIS_PREFIX": "{chatbench-test-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "}:",
		"CHAT_UNITS":        strings.Join(units, ","), "CHAT_ADMIN_EMAIL": "admin@example.com", "CHAT_ADMIN_PASSWORD": "bench-password",
		"CHAT_RATE_CONN_PER_SEC": "1000000", "CHAT_RATE_IP_PER_SEC": "1000000",
	}
	cfg, err := server.LoadConfig(func(k string) string { return env[k] }, flag.NewFlagSet("chatd", flag.ContinueOnError), nil)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := server.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("serve: %v", err)
		}
		s.Close()
	})
	return "http://" + ln.Addr().String()
}

// TestScenariosAgainstChatd runs every scenario, small, against chatd's
// code in this process (one unit, so few bcrypt logins): the tool's whole
// path through the real protocol.
func TestScenariosAgainstChatd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and logs staff in (bcrypt)")
	}
	base := startChatd(t, "", "", []string{"general"})
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-url", base, "-idle", "20", "-settle", "0.1", "-storm", "8", "-chats", "8", "-rate", "200",
		"-duration", "0.4", "-reconnect", "6", "-outage", "0.2", "-outage-messages", "2", "-max-chats", "8",
		"-json", filepath.Join(t.TempDir(), "r.json")}, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	for _, want := range []string{"IDLE SOCKETS", "ASSIGNMENT STORM", "CONVERSATION LOAD", "RECONNECT STORM", "CHECKS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %s in the report:\n%s", want, out.String())
		}
	}
}

// BenchmarkChatdConversation sends b.N messages through chatd's code in
// this process, for profiles of the server under load:
//
//	go test -run '^$' -bench ChatdConversation -benchtime 20000x \
//	  -cpuprofile cpu.out -memprofile mem.out ./cmd/chatbench
//
// CHATBENCH_DATABASE_URL / CHATBENCH_REDIS_URL select PostgreSQL and Redis
// (default: SQLite in a temporary directory and the embedded Redis);
// CHATBENCH_RATE (default 2000) and CHATBENCH_CHATS (default 200) the load.
// -cpuprofile also covers the setup, whose staff logins are bcrypt: view it
// with pprof -ignore 'bcrypt|blowfish', or set CHATBENCH_CPUPROFILE=FILE for
// a profile of the load alone.
func BenchmarkChatdConversation(b *testing.B) {
	rateN, chats := envInt("CHATBENCH_RATE", 2000), envInt("CHATBENCH_CHATS", 200)
	base := startChatd(b, os.Getenv("CHATBENCH_DATABASE_URL"), os.Getenv("CHATBENCH_REDIS_URL"), chat.DefaultUnits)
	cfg, err := parseArgs([]string{"-url", base, "-scenarios", "conv", "-relay=false"}, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	bn := &bench{cfg: cfg, hc: newHTTPClient(), runID: "b" + strconv.FormatInt(time.Now().UnixNano(), 36), log: io.Discard, start: time.Now(), report: newReport(cfg)}
	ctx := context.Background()
	if err := bn.prepareFor(ctx, chats); err != nil {
		b.Fatal(err)
	}
	s, err := setupChats(ctx, bn, targetChatd, chats, startWindow(chats))
	if err != nil {
		b.Fatal(err)
	}
	defer s.teardown(ctx)
	if path := os.Getenv("CHATBENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	b.ResetTimer()
	r, err := runLoad(ctx, s, 0, float64(rateN), time.Duration(float64(b.N)/float64(rateN)*float64(time.Second)), 10*time.Second)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(ms(r.V2A.P99), "p99-ms")
	b.ReportMetric(r.ServerCPUPer1k, "cpu-ms/1k-msgs")
	b.ReportMetric(float64(r.Lost), "lost")
	b.ReportMetric(r.CommitBatch, "msgs/commit")
}

// prepareFor is prepare for a benchmark of chats conversations.
func (b *bench) prepareFor(ctx context.Context, chats int) error {
	b.cfg.Chats = chats
	return b.prepare(ctx)
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
