package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// IdleResult is what idle sockets cost the server, from its /metrics
// before and after they connected (summed over the nodes).
type IdleResult struct {
	Sockets        int     `json:"sockets"`
	Visitors       int     `json:"visitors"`
	Agents         int     `json:"agent_sockets"`
	Nodes          int     `json:"nodes"`
	ConnectSeconds float64 `json:"connect_seconds"`

	RSSBefore        float64 `json:"rss_before_bytes"`
	RSSAfter         float64 `json:"rss_after_bytes"`
	RSSPerSocket     float64 `json:"rss_per_socket_bytes"`
	HeapPerSocket    float64 `json:"heap_inuse_per_socket_bytes"`
	GoroutinesBefore float64 `json:"goroutines_before"`
	GoroutinesAfter  float64 `json:"goroutines_after"`
	GoroutinesPer    float64 `json:"goroutines_per_socket"`
	GoroutinesClosed float64 `json:"goroutines_after_close"`
	ServerConns      float64 `json:"server_connections"`
}

// scenarioIdle connects N sockets that say nothing: one agent socket per
// 20, the rest visitors, spread over the nodes.
func scenarioIdle(ctx context.Context, b *bench) error {
	n := b.cfg.Idle
	agents := max(1, n/20)
	visitors := n - agents
	b.logf("idle: %d visitor and %d agent sockets over %d node(s)", visitors, agents, len(b.nodes))
	before, err := scrape(ctx, b.hc, b.urls())
	if err != nil {
		return err
	}
	r := &IdleResult{Sockets: n, Visitors: visitors, Agents: agents, Nodes: len(b.nodes),
		RSSBefore: before[mRSS], GoroutinesBefore: before[mGoroutines]}
	b.report.Idle = r
	conns := make([]*Conn, n)
	defer func() { closeAll(context.WithoutCancel(ctx), nonNil(conns)) }()
	var up atomic.Int64
	stop := b.progress("idle", func() string { return fmt.Sprintf("%d/%d sockets open", up.Load(), n) })
	t0 := time.Now()
	accts := b.staff.all()
	err = parallel(ctx, n, 64, func(ctx context.Context, i int) error {
		node := b.nodes[i%len(b.nodes)]
		var url string
		if i < agents {
			url = wsURL(node.base, "/ws/agent?token="+accts[i%len(accts)].Token)
		} else {
			_, tok, err := node.createVisitor(ctx)
			if err != nil {
				return fmt.Errorf("create visitor: %w", err)
			}
			url = wsURL(node.base, "/ws/visitor?token="+tok)
		}
		c, _, err := Dial(ctx, url, nil, true)
		if err != nil {
			return err
		}
		conns[i] = c
		up.Add(1)
		return nil
	})
	stop()
	if err != nil {
		return fmt.Errorf("after %d sockets: %w", up.Load(), err)
	}
	r.ConnectSeconds = time.Since(t0).Seconds()
	b.logf("idle: %d sockets open in %.1fs; settling %v", n, r.ConnectSeconds, b.cfg.Settle)
	select {
	case <-time.After(b.cfg.Settle):
	case <-ctx.Done():
		return ctx.Err()
	}
	after, err := scrape(ctx, b.hc, b.urls())
	if err != nil {
		return err
	}
	d := after.Sub(before)
	r.RSSAfter, r.GoroutinesAfter, r.ServerConns = after[mRSS], after[mGoroutines], after[mConns]
	r.RSSPerSocket = d[mRSS] / float64(n)
	r.HeapPerSocket = d[mHeap] / float64(n)
	r.GoroutinesPer = d[mGoroutines] / float64(n)
	b.logf("idle: %.1f KiB RSS and %.2f goroutines per socket", r.RSSPerSocket/1024, r.GoroutinesPer)
	closeAll(ctx, conns)
	conns = nil
	time.Sleep(b.cfg.Settle) // the server notices the closes and ends their goroutines
	if m, err := scrape(ctx, b.hc, b.urls()); err == nil {
		r.GoroutinesClosed = m[mGoroutines]
	}
	return nil
}

func nonNil(conns []*Conn) []*Conn {
	out := make([]*Conn, 0, len(conns))
	for _, c := range conns {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}
