package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// agentPassword is every benchmark agent's password.
const agentPassword = "bench-agent-password"

// agentAccount is one staff account the benchmark made, logged in.
type agentAccount struct {
	ID, Email, Name, Unit, Token string
	MaxChats                     int
}

// staffPool holds the agents of a run, made once through the admin API and
// lent to each scenario; every agent serves exactly one unit.
type staffPool struct {
	units  []string
	byUnit map[string][]*agentAccount
}

// agentsPerUnit is how many agents, each with max slots, serve chats
// spread round-robin over units with room to spare: one more per unit.
func agentsPerUnit(chats, units, max int) int {
	if chats <= 0 {
		return 0
	}
	perUnit := (chats + units - 1) / units
	return (perUnit+max-1)/max + 1
}

// newStaffPool logs the admin in and creates and logs in perUnit agents
// for each unit. Logins are bcrypt-bound on the server, so they run a few
// at a time.
func newStaffPool(ctx context.Context, b *bench, perUnit int) (*staffPool, error) {
	node := b.nodes[0]
	admin, _, err := node.login(ctx, b.cfg.AdminEmail, b.cfg.AdminPassword)
	if err != nil {
		return nil, fmt.Errorf("admin login as %s (set -admin-email/-admin-password): %w", b.cfg.AdminEmail, err)
	}
	p := &staffPool{units: b.units, byUnit: map[string][]*agentAccount{}}
	var all []*agentAccount
	for i := 0; i < perUnit; i++ {
		for _, u := range b.units {
			n := len(all)
			a := &agentAccount{Email: fmt.Sprintf("bench-%s-%d@example.com", b.runID, n), Name: fmt.Sprintf("Bench Agent %d", n),
				Unit: u, MaxChats: b.cfg.MaxChats}
			all = append(all, a)
			p.byUnit[u] = append(p.byUnit[u], a)
		}
	}
	b.logf("staff: creating and logging in %d agents (%d per unit, max_chats %d)", len(all), perUnit, b.cfg.MaxChats)
	var done atomic.Int64
	stop := b.progress("staff", func() string { return fmt.Sprintf("%d/%d agents ready", done.Load(), len(all)) })
	defer stop()
	err = parallel(ctx, len(all), 4, func(ctx context.Context, i int) error {
		a, n := all[i], b.nodes[i%len(b.nodes)]
		if err := n.createAgent(ctx, admin, a, agentPassword); err != nil {
			return fmt.Errorf("create agent %s: %w", a.Email, err)
		}
		tok, _, err := n.login(ctx, a.Email, agentPassword)
		if err != nil {
			return fmt.Errorf("login %s: %w", a.Email, err)
		}
		a.Token = tok
		done.Add(1)
		return nil
	})
	return p, err
}

// take lends perUnit agents of every unit.
func (p *staffPool) take(perUnit int) []*agentAccount {
	var out []*agentAccount
	for _, u := range p.units {
		as := p.byUnit[u]
		out = append(out, as[:min(perUnit, len(as))]...)
	}
	return out
}

// all returns every agent of the pool.
func (p *staffPool) all() []*agentAccount {
	var out []*agentAccount
	for _, u := range p.units {
		out = append(out, p.byUnit[u]...)
	}
	return out
}

// parallel runs fn for 0..n-1 with at most limit at once and returns the
// first error.
func parallel(parent context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	sem := make(chan struct{}, limit)
	for i := 0; i < n && ctx.Err() == nil; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return parent.Err()
}

// counter is a mutex-guarded map of counts, for error codes and the like.
type counter struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counter) add(k string) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[k]++
	c.mu.Unlock()
}

func (c *counter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}
