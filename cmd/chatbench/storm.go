package main

import (
	"context"
	"time"
)

// StormResult is the assignment storm: chats started within one second
// over every node, the time until each visitor heard chat.assigned, and the
// assignment invariants as the agents saw them.
type StormResult struct {
	Chats    int     `json:"chats"`
	Nodes    int     `json:"nodes"`
	Agents   int     `json:"agents"`
	MaxChats int     `json:"max_chats"`
	Window   float64 `json:"window_seconds"`
	Assign   Summary `json:"start_to_assigned"`

	Assigned          int            `json:"assigned"`             // chats whose visitor got chat.assigned
	AgentOnce         int            `json:"agent_assigned_once"`  // chats that reached exactly one agent, once
	AgentMore         int            `json:"agent_assigned_again"` // chats that reached agents more than once
	VisitorRepeated   int            `json:"visitor_repeated"`     // visitors that got chat.assigned more than once
	OverCapacity      int            `json:"agents_over_capacity"`
	MaxPerAgent       int            `json:"max_chats_per_agent"`
	UnitMismatch      int            `json:"unit_mismatch"`
	Foreign           int            `json:"foreign_assignments"` // chats the benchmark did not start
	Errors            map[string]int `json:"errors,omitempty"`
	Error             string         `json:"error,omitempty"`
	InvariantsHold    bool           `json:"invariants_hold"`
	ServerConnections float64        `json:"server_connections"`
}

func scenarioStorm(ctx context.Context, b *bench) error {
	cfg := b.cfg
	b.logf("storm: %d chats within 1s over %d node(s)", cfg.Storm, len(b.nodes))
	window := time.Second
	s, err := setupChats(ctx, b, targetChatd, cfg.Storm, window)
	defer s.teardown(ctx)
	r := stormResult(s, window)
	if err != nil {
		r.Error = err.Error()
	}
	if m, merr := scrape(ctx, b.hc, b.urls()); merr == nil {
		r.ServerConnections = m[mConns]
	}
	b.report.Storm = r
	b.logf("storm: assigned %d/%d p50 %.2fms p99 %.2fms invariants hold: %v", r.Assigned, r.Chats, ms(r.Assign.P50), ms(r.Assign.P99), r.InvariantsHold)
	return err
}

func stormResult(s *chatSet, window time.Duration) *StormResult {
	r := &StormResult{Chats: len(s.pairs), Nodes: len(s.b.nodes), Agents: len(s.agents), MaxChats: s.b.cfg.MaxChats,
		Window: window.Seconds(), Errors: s.errs.snapshot()}
	var waits []time.Duration
	ours := map[string]*pair{}
	for _, p := range s.pairs {
		if p.chatID != "" {
			ours[p.chatID] = p
		}
		if p.vAssigned.Load() > 0 {
			r.Assigned++
			waits = append(waits, time.Unix(0, p.assignedAt.Load()).Sub(p.startAt))
		}
		if p.vAssigned.Load() > 1 {
			r.VisitorRepeated++
		}
	}
	r.Assign = Summarize(waits)
	s.book.mu.Lock()
	defer s.book.mu.Unlock()
	for id, n := range s.book.count {
		p := ours[id]
		switch {
		case p == nil:
			r.Foreign++
			continue
		case n == 1:
			r.AgentOnce++
		default:
			r.AgentMore++
		}
		if ac := s.book.agentOf[id]; ac != nil && ac.acct != nil && ac.acct.Unit != p.unit {
			r.UnitMismatch++
		}
	}
	for ac, chats := range s.book.perAgent {
		n := 0
		for id := range chats {
			if ours[id] != nil {
				n++
			}
		}
		r.MaxPerAgent = max(r.MaxPerAgent, n)
		if ac.acct != nil && n > ac.acct.MaxChats {
			r.OverCapacity++
		}
	}
	r.InvariantsHold = r.Assigned == r.Chats && r.AgentOnce == r.Chats && r.AgentMore == 0 && r.OverCapacity == 0 && r.UnitMismatch == 0
	return r
}
