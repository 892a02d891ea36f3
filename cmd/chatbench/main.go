// Command chatbench is chatd's load generator. It drives running chatd
// nodes through the public protocol only (REST and WebSockets) and, in the
// same run, a bare WebSocket relay of its own, so every figure has the
// machine's limit beside it. See BENCHMARKS.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "chatbench:", err)
		os.Exit(1)
	}
}

// bench is one run: its configuration, the nodes, the staff it made, the
// relay and the report being filled.
type bench struct {
	cfg    *Config
	hc     *http.Client
	nodes  []api
	units  []string
	staff  *staffPool
	relay  *Relay
	runID  string
	report *Report

	logMu sync.Mutex
	log   io.Writer
	start time.Time
}

// run is main without the process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseArgs(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	b := &bench{cfg: cfg, hc: newHTTPClient(), runID: uuid.NewString()[:8], log: stderr, start: time.Now()}
	b.report = newReport(cfg)
	if n, err := raiseFileLimit(20000); err != nil {
		b.logf("open-file limit: %v (now %d)", err, n)
	} else {
		b.logf("open-file limit %d", n)
	}
	u := readUsage()
	time.Sleep(time.Second)
	_, b.report.Machine.BusyBefore = u.since()
	if busy := b.report.Machine.BusyBefore; busy > 0.15 {
		b.logf("WARNING: the machine is already %.0f%% busy: other work will skew the results", busy*100)
	}
	if err := b.prepare(ctx); err != nil {
		return err
	}
	if b.relay != nil {
		defer b.relay.Close()
	}
	steps := map[string]func(context.Context, *bench) error{
		"idle": scenarioIdle, "storm": scenarioStorm, "conv": scenarioConv, "reconnect": scenarioReconnect,
	}
	for _, name := range allScenarios {
		if !cfg.has(name) {
			continue
		}
		if ctx.Err() != nil {
			b.report.fail(name, ctx.Err())
			continue
		}
		t0 := time.Now()
		err := steps[name](ctx, b)
		b.logf("%s: done in %.1fs", name, time.Since(t0).Seconds())
		if err != nil {
			b.logf("%s: FAILED: %v", name, err)
			b.report.fail(name, err)
		}
	}
	b.report.finish(time.Since(b.start))
	b.report.Table(stdout)
	if cfg.JSON != "" {
		if err := b.report.WriteJSON(cfg.JSON); err != nil {
			return err
		}
		b.logf("results written to %s", cfg.JSON)
	}
	return b.report.Err()
}

// prepare checks the nodes, learns the units, makes the staff and starts
// the relay.
func (b *bench) prepare(ctx context.Context) error {
	cfg := b.cfg
	for _, u := range []string{cfg.URL, cfg.URL2} {
		if u != "" {
			b.nodes = append(b.nodes, api{hc: b.hc, base: u})
		}
	}
	for _, n := range b.nodes {
		if err := waitReady(ctx, b.hc, n.base); err != nil {
			return err
		}
	}
	if len(b.nodes) > 0 {
		var err error
		if b.units, err = b.nodes[0].units(ctx); err != nil {
			return fmt.Errorf("units: %w", err)
		}
		if len(b.units) == 0 {
			return errors.New("the server has no units")
		}
		if b.staff, err = newStaffPool(ctx, b, b.agentsNeeded()); err != nil {
			return err
		}
	}
	if cfg.Relay && cfg.has("conv") {
		var err error
		if b.relay, err = StartRelay(); err != nil {
			return fmt.Errorf("relay: %w", err)
		}
		b.logf("bare relay listening on %s", b.relay.URL)
	}
	return nil
}

// agentsNeeded is the agents per unit the largest scenario needs.
func (b *bench) agentsNeeded() int {
	cfg, u := b.cfg, len(b.units)
	n := 1
	if cfg.has("storm") {
		n = max(n, agentsPerUnit(cfg.Storm, u, cfg.MaxChats))
	}
	if cfg.has("conv") {
		n = max(n, agentsPerUnit(cfg.Chats, u, cfg.MaxChats))
	}
	if cfg.has("reconnect") {
		n = max(n, agentsPerUnit(cfg.Reconnect, u, cfg.MaxChats))
	}
	return n
}

func waitReady(ctx context.Context, hc *http.Client, base string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready: %w", base, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (b *bench) urls() []string {
	out := make([]string, len(b.nodes))
	for i, n := range b.nodes {
		out[i] = n.base
	}
	return out
}

// targets are what the conversation load runs against.
func (b *bench) targets() []string {
	var out []string
	if len(b.nodes) > 0 {
		out = append(out, targetChatd)
	}
	if b.relay != nil {
		out = append(out, targetRelay)
	}
	return out
}

// logf writes a progress line to stderr, stamped with the time since start.
func (b *bench) logf(format string, args ...any) {
	b.logMu.Lock()
	defer b.logMu.Unlock()
	fmt.Fprintf(b.log, "[%6.1fs] %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

// progress logs status every two seconds until stop is called.
func (b *bench) progress(label string, status func() string) (stop func()) {
	done := make(chan struct{})
	var once sync.Once
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				b.logf("%s: %s", label, status())
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}

// raiseFileLimit lifts the soft open-file limit to want (or the hard limit,
// if lower): every socket is a file.
func raiseFileLimit(want uint64) (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur >= want {
		return l.Cur, nil
	}
	l.Cur = min(want, l.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return l.Cur, err
	}
	return l.Cur, nil
}
