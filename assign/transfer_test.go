package assign

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestTransfer(t *testing.T) {
	// g serves general, f financial, x financial but is away; c0 and c1 are
	// assigned, c2 and c3 wait, in that order of arrival.
	setup := func(t *testing.T) *Redis {
		ctx := context.Background()
		clk := newClock()
		r := newTestRedis(t, clk, Config{})
		must := must(t)
		must(r.SetPresence(ctx, Agent{ID: "g", Units: []string{"general"}, MaxChats: 1}, StatusOnline))
		must(r.SetPresence(ctx, Agent{ID: "f", Units: []string{"financial"}, MaxChats: 1}, StatusOnline))
		must(r.SetPresence(ctx, Agent{ID: "x", Units: []string{"financial"}, MaxChats: 2}, StatusAway))
		for _, c := range []struct{ id, unit string }{{"c0", "general"}, {"c1", "financial"}, {"c2", "general"}, {"c3", "financial"}} {
			clk.Add(time.Second)
			must(r.Enqueue(ctx, c.id, c.unit, 0))
		}
		return r
	}
	tests := []struct {
		name           string
		before         []Agent // set online before the transfer
		chat, unit, to string
		wantErr        error
		want           []string
		wantGeneral    []string
		wantFinancial  []string
		wantAgent      string // of chat afterwards
	}{
		{
			name: "assigned chat to a busy unit keeps its arrival", chat: "c0", unit: "financial",
			want: []string{"c2>g"}, wantFinancial: []string{"c0", "c3"},
		},
		{
			name: "queued chat to another unit", chat: "c2", unit: "financial",
			wantFinancial: []string{"c2", "c3"},
		},
		{
			name: "to a unit with a free agent", chat: "c0", unit: "financial",
			before: []Agent{{ID: "x", Units: []string{"financial"}, MaxChats: 2}},
			want:   []string{"c0>x", "c2>g"}, wantAgent: "x",
		},
		{
			name: "to a named agent", chat: "c0", unit: "financial", to: "x",
			before: []Agent{{ID: "x", Units: []string{"financial"}, MaxChats: 2}},
			want:   []string{"c0>x", "c2>g"}, wantAgent: "x",
		},
		{
			name: "queued chat to a named agent", chat: "c3", to: "x",
			before: []Agent{{ID: "x", Units: []string{"financial"}, MaxChats: 3}},
			want:   []string{"c3>x"}, wantGeneral: []string{"c2"}, wantAgent: "x",
		},
		{
			name: "to an agent serving several units", chat: "c0", to: "m",
			before: []Agent{{ID: "m", Units: []string{"financial", "general"}, MaxChats: 3}},
			want:   []string{"c0>m"}, wantAgent: "m",
		},
		{
			name: "to an away agent", chat: "c3", to: "x", wantErr: ErrAgentUnavailable,
			wantGeneral: []string{"c2"}, wantFinancial: []string{"c3"},
		},
		{
			name: "to a full agent", chat: "c3", to: "f", wantErr: ErrAgentFull,
			wantGeneral: []string{"c2"}, wantFinancial: []string{"c3"},
		},
		{
			name: "to an agent not serving the unit", chat: "c3", to: "g", wantErr: ErrAgentUnavailable,
			wantGeneral: []string{"c2"}, wantFinancial: []string{"c3"},
		},
		{
			name: "to an unknown agent", chat: "c3", to: "nobody", wantErr: ErrAgentUnavailable,
			wantGeneral: []string{"c2"}, wantFinancial: []string{"c3"},
		},
		{
			name: "unknown chat", chat: "nope", unit: "financial", wantErr: ErrNotFound,
			wantGeneral: []string{"c2"}, wantFinancial: []string{"c3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			r := setup(t)
			must := must(t)
			for _, a := range tt.before {
				must(r.SetPresence(ctx, a, StatusOnline))
			}
			got, err := r.Transfer(ctx, tt.chat, tt.unit, tt.to)
			wantErr(t, "Transfer", err, tt.wantErr)
			wantPairs(t, "Transfer", got, tt.want...)
			if q := queueIDs(t, r, "general"); !slices.Equal(q, tt.wantGeneral) {
				t.Errorf("general queue %q, want %q", q, tt.wantGeneral)
			}
			if q := queueIDs(t, r, "financial"); !slices.Equal(q, tt.wantFinancial) {
				t.Errorf("financial queue %q, want %q", q, tt.wantFinancial)
			}
			if tt.wantErr == nil {
				if agent, err := r.AgentOf(ctx, tt.chat); err != nil || agent != tt.wantAgent {
					t.Errorf("AgentOf(%s) = %q, %v; want %q", tt.chat, agent, err, tt.wantAgent)
				}
			}
		})
	}
}
