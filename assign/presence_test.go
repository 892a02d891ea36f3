package assign

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
)

const (
	ttl   = 15 * time.Second
	grace = 30 * time.Second
)

func TestHeartbeatExpiry(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	r := newTestRedis(t, clk, Config{HeartbeatTTL: ttl, Grace: grace})
	must := must(t)
	a := Agent{ID: "a", Name: "Ali", Units: []string{"general"}, MaxChats: 2}
	must(r.SetPresence(ctx, a, StatusOnline))

	wantOnline := func(what string, online bool) {
		t.Helper()
		n, err := r.Available(ctx, "general")
		if err != nil {
			t.Fatal(err)
		}
		agents, err := r.Agents(ctx, "general")
		if err != nil {
			t.Fatal(err)
		}
		status, want := StatusOffline, 0
		if online {
			status, want = StatusOnline, 1
		}
		if n != want || len(agents) != 1 || agents[0].Online != online || agents[0].Status != status {
			t.Errorf("%s: Available = %d, Agents = %+v; want online %v", what, n, agents, online)
		}
	}
	wantOnline("after presence", true)
	clk.Add(ttl - time.Second)
	wantOnline("just within TTL", true)
	if err := r.Heartbeat(ctx, "a", "unknown"); err != nil {
		t.Fatal(err)
	}
	clk.Add(ttl - time.Second)
	wantOnline("within TTL of the heartbeat", true)
	clk.Add(time.Second)
	wantOnline("TTL after the heartbeat", false)
	wantPairs(t, "enqueue to an expired agent", must(r.Enqueue(ctx, "c1", "general", 0)))

	if err := r.Heartbeat(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	wantOnline("heartbeat again", true)
	wantPairs(t, "sweep drains for the revived agent", must(r.Sweep(ctx)), "c1>a")

	if n, err := r.Available(ctx, "technical"); err != nil || n != 0 {
		t.Errorf("Available(technical) = %d, %v; want 0", n, err)
	}
}

func TestDisconnectedGetsNoNewChats(t *testing.T) {
	ctx := context.Background()
	r := newTestRedis(t, newClock(), Config{HeartbeatTTL: ttl, Grace: grace})
	must := must(t)
	must(r.SetPresence(ctx, Agent{ID: "a", Units: []string{"general"}, MaxChats: 1}, StatusOnline))
	must(r.Enqueue(ctx, "c1", "general", 0))
	must(r.Enqueue(ctx, "c2", "general", 0))
	if err := r.Disconnected(ctx, "a", "n1"); err != nil {
		t.Fatal(err)
	}
	wantPairs(t, "release", must(r.Release(ctx, "c1")))
	if n, err := r.Available(ctx, "general"); err != nil || n != 0 {
		t.Errorf("Available = %d, %v; want 0", n, err)
	}
	if err := r.Disconnected(ctx, "unknown", "n1"); err != nil {
		t.Errorf("Disconnected(unknown): %v", err)
	}
}

func TestSweep(t *testing.T) {
	type step struct {
		do    string // "disconnect", "heartbeat", "online", "wait" or "sweep"
		agent Agent  // for heartbeat and online
		wait  time.Duration
		want  []Assignment // for sweep and online
	}
	a := Agent{ID: "a", Units: []string{"general"}, MaxChats: 2}
	b1 := Agent{ID: "b", Units: []string{"general"}, MaxChats: 1}
	b3 := Agent{ID: "b", Units: []string{"general"}, MaxChats: 3}
	requeued := []Assignment{
		{ChatID: "c1", Unit: "general", Requeued: true, From: "a"},
		{ChatID: "c2", Unit: "general", Requeued: true, From: "a"},
	}
	tests := []struct {
		name      string
		steps     []step
		wantQueue []string
		wantA     []string // chats a still has
	}{
		{
			name: "disconnected past grace: to the head, in order",
			steps: []step{
				{do: "disconnect"},
				{do: "wait", wait: grace - time.Second},
				{do: "sweep"},
				{do: "wait", wait: time.Second},
				{do: "sweep", want: requeued},
				{do: "sweep"},
				{do: "online", agent: b1, want: []Assignment{{ChatID: "c1", Unit: "general", AgentID: "b"}}},
			},
			wantQueue: []string{"c2", "c3"},
		},
		{
			name: "silent for the grace (a crashed node)",
			steps: []step{
				{do: "wait", wait: grace - time.Second},
				{do: "sweep"},
				{do: "wait", wait: time.Second},
				{do: "sweep", want: requeued},
			},
			wantQueue: []string{"c1", "c2", "c3"},
		},
		{
			name: "requeued chats go to a free agent first",
			steps: []step{
				{do: "online", agent: b3, want: []Assignment{{ChatID: "c3", Unit: "general", AgentID: "b"}}},
				{do: "disconnect"},
				{do: "wait", wait: grace},
				{do: "heartbeat", agent: b3},
				{do: "sweep", want: []Assignment{
					{ChatID: "c1", Unit: "general", AgentID: "b", Requeued: true, From: "a"},
					{ChatID: "c2", Unit: "general", AgentID: "b", Requeued: true, From: "a"},
				}},
			},
		},
		{
			name: "reconnect by presence within grace keeps the chats",
			steps: []step{
				{do: "disconnect"},
				{do: "wait", wait: grace - time.Second},
				{do: "online", agent: a},
				{do: "wait", wait: grace - time.Second},
				{do: "sweep"},
			},
			wantQueue: []string{"c3"},
			wantA:     []string{"c1", "c2"},
		},
		{
			name: "reconnect by heartbeat within grace keeps the chats",
			steps: []step{
				{do: "disconnect"},
				{do: "wait", wait: ttl - time.Second},
				{do: "heartbeat", agent: a},
				{do: "wait", wait: grace - time.Second},
				{do: "sweep"},
			},
			wantQueue: []string{"c3"},
			wantA:     []string{"c1", "c2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clk := newClock()
			r := newTestRedis(t, clk, Config{HeartbeatTTL: ttl, Grace: grace})
			must := must(t)
			// a holds c1 and c2; c3 waits.
			must(r.SetPresence(ctx, a, StatusOnline))
			for _, c := range []string{"c1", "c2", "c3"} {
				clk.Add(time.Millisecond)
				must(r.Enqueue(ctx, c, "general", 0))
			}
			for i, s := range tt.steps {
				var got []Assignment
				var err error
				switch s.do {
				case "disconnect":
					err = r.Disconnected(ctx, "a", "n1")
				case "heartbeat":
					err = r.Heartbeat(ctx, s.agent.ID)
				case "online":
					got, err = r.SetPresence(ctx, s.agent, StatusOnline)
				case "wait":
					clk.Add(s.wait)
				case "sweep":
					got, err = r.Sweep(ctx)
				}
				if err != nil {
					t.Fatalf("step %d %s: %v", i, s.do, err)
				}
				if got := brief(got); !reflect.DeepEqual(got, s.want) {
					t.Errorf("step %d %s: got %+v, want %+v", i, s.do, got, s.want)
				}
			}
			if q := queueIDs(t, r, "general"); !slices.Equal(q, tt.wantQueue) {
				t.Errorf("queue %q, want %q", q, tt.wantQueue)
			}
			var held []string
			for _, c := range []string{"c1", "c2", "c3"} {
				if agent, err := r.AgentOf(ctx, c); err != nil {
					t.Fatal(err)
				} else if agent == "a" {
					held = append(held, c)
				}
			}
			if !slices.Equal(held, tt.wantA) {
				t.Errorf("a holds %q, want %q", held, tt.wantA)
			}
		})
	}
}

// An agent with sockets on two nodes loses nothing when one closes; the
// grace period starts when the last one does.
func TestDisconnectCountsSocketsAcrossNodes(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	r := newTestRedis(t, clk, Config{HeartbeatTTL: ttl, Grace: grace})
	must := must(t)
	a := Agent{ID: "a", Units: []string{"general"}, MaxChats: 2}
	must(r.SetPresence(ctx, a, StatusOnline))
	for _, node := range []string{"n1", "n2", "n2"} {
		if _, err := r.Connected(ctx, "a", node); err != nil {
			t.Fatal(err)
		}
	}
	wantPairs(t, "enqueue", must(r.Enqueue(ctx, "c1", "general", 0)), "c1>a")
	steps := []struct {
		node      string
		available int
	}{{"n2", 1}, {"n1", 1}, {"n2", 0}}
	for _, s := range steps {
		if err := r.Disconnected(ctx, "a", s.node); err != nil {
			t.Fatal(err)
		}
		if n, err := r.Available(ctx, "general"); err != nil || n != s.available {
			t.Fatalf("after a socket on %s closed: Available = %d, %v; want %d", s.node, n, err, s.available)
		}
	}
	clk.Add(grace + time.Second)
	got := must(r.Sweep(ctx))
	if len(got) != 1 || got[0].ChatID != "c1" || !got[0].Requeued {
		t.Fatalf("sweep after the last socket closed: %+v", got)
	}
}

// Update moves an agent to other units and capacity without changing its
// status, and the new unit's waiting chats come at once.
func TestUpdateUnitsAndCapacity(t *testing.T) {
	ctx := context.Background()
	r := newTestRedis(t, newClock(), Config{HeartbeatTTL: ttl, Grace: grace})
	must := must(t)
	if _, err := r.Update(ctx, Agent{ID: "a", Units: []string{"general"}, MaxChats: 1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of an unknown agent: %v, want ErrNotFound", err)
	}
	must(r.SetPresence(ctx, Agent{ID: "a", Name: "Ada", Units: []string{"general"}, MaxChats: 1}, StatusOnline))
	must(r.Enqueue(ctx, "t1", "technical", 0))
	must(r.Enqueue(ctx, "t2", "technical", 0))
	wantPairs(t, "new unit and capacity", must(r.Update(ctx, Agent{ID: "a", Name: "Ada", Units: []string{"technical"}, MaxChats: 2})), "t1>a", "t2>a")
	if n, err := r.Available(ctx, "general"); err != nil || n != 0 {
		t.Errorf("Available(general) = %d, %v; want 0 after leaving the unit", n, err)
	}
	must(r.SetPresence(ctx, Agent{ID: "a", Name: "Ada", Units: []string{"technical"}, MaxChats: 2}, StatusAway))
	must(r.Update(ctx, Agent{ID: "a", Name: "Ada", Units: []string{"technical"}, MaxChats: 3}))
	agents, err := r.Agents(ctx, "technical")
	if err != nil || len(agents) != 1 || agents[0].Status != StatusAway || agents[0].Max != 3 {
		t.Fatalf("after update: %+v %v; want away with max 3", agents, err)
	}
}

// With a grace shorter than the heartbeat TTL, a silent agent (its node
// crashed) keeps its chats while it still counts as live, and loses them at
// the TTL; a clean disconnect still takes only the grace.
func TestSweepGraceShorterThanTTL(t *testing.T) {
	const short = 5 * time.Second
	for _, tt := range []struct {
		name       string
		disconnect bool
		keep, lose time.Duration
	}{
		{"node crashed: silent", false, ttl - time.Second, time.Second},
		{"socket closed", true, short - time.Second, time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clk := newClock()
			r := newTestRedis(t, clk, Config{HeartbeatTTL: ttl, Grace: short})
			must := must(t)
			must(r.SetPresence(ctx, Agent{ID: "a", Units: []string{"general"}, MaxChats: 1}, StatusOnline))
			wantPairs(t, "enqueue", must(r.Enqueue(ctx, "c1", "general", 0)), "c1>a")
			if tt.disconnect {
				if err := r.Disconnected(ctx, "a", "n1"); err != nil {
					t.Fatal(err)
				}
			}
			clk.Add(tt.keep)
			wantPairs(t, "sweep before", must(r.Sweep(ctx)))
			clk.Add(tt.lose)
			if got := must(r.Sweep(ctx)); len(got) != 1 || got[0].ChatID != "c1" || !got[0].Requeued {
				t.Fatalf("sweep after: %+v", got)
			}
		})
	}
}

// TestLapsedAgentComesBackOnline: ties between equal loads go to the agent
// free the longest, counted from the later of its last assignment and
// coming online. An agent whose connection lapsed (no socket, or no
// heartbeat, past the grace) and who comes back, by whatever path, comes
// online then, even though its status stayed online; one back within the
// grace keeps its place.
func TestLapsedAgentComesBackOnline(t *testing.T) {
	const short = 5 * time.Second
	back := func(r *Redis, node string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := r.Connected(ctx, "tek", node)
			return err
		}
	}
	for _, tt := range []struct {
		name string
		// silent: the node stopped answering (no close seen) instead of
		// the socket closing.
		silent, sweep bool
		away          time.Duration
		come          func(r *Redis) func(context.Context) error
		lapsed        bool
	}{
		{name: "socket, after the sweep", sweep: true, away: time.Minute, come: func(r *Redis) func(context.Context) error { return back(r, "n1") }, lapsed: true},
		{name: "socket on another node, before any sweep", away: time.Minute, come: func(r *Redis) func(context.Context) error { return back(r, "n2") }, lapsed: true},
		{name: "presence frame", sweep: true, away: time.Minute, come: func(r *Redis) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := r.SetPresence(ctx, Agent{ID: "tek", Units: []string{"technical"}, MaxChats: 2}, StatusOnline)
				return err
			}
		}, lapsed: true},
		{name: "heartbeat of a node that was silent", silent: true, away: ttl + time.Second, come: func(r *Redis) func(context.Context) error {
			return func(ctx context.Context) error { return r.Heartbeat(ctx, "tek") }
		}, lapsed: true},
		{name: "socket within the grace", away: short - time.Second, come: func(r *Redis) func(context.Context) error { return back(r, "n1") }},
		{name: "presence frame within the grace", away: short - time.Second, come: func(r *Redis) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := r.SetPresence(ctx, Agent{ID: "tek", Units: []string{"technical"}, MaxChats: 2}, StatusOnline)
				return err
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clk := newClock()
			r := newTestRedis(t, clk, Config{HeartbeatTTL: ttl, Grace: short})
			must := must(t)
			tek := Agent{ID: "tek", Units: []string{"technical"}, MaxChats: 2}
			kaan := Agent{ID: "kaan", Units: []string{"technical"}, MaxChats: 2}
			must(r.SetPresence(ctx, tek, StatusOnline))
			if _, err := r.Connected(ctx, "tek", "n1"); err != nil {
				t.Fatal(err)
			}
			clk.Add(time.Second)
			wantPairs(t, "first chat", must(r.Enqueue(ctx, "c1", "technical", 0)), "c1>tek")
			assigned := clk.Now()
			must(r.Release(ctx, "c1"))
			if !tt.silent {
				if err := r.Disconnected(ctx, "tek", "n1"); err != nil {
					t.Fatal(err)
				}
			}
			clk.Add(tt.away)
			if tt.sweep {
				must(r.Sweep(ctx))
			}
			must(r.SetPresence(ctx, kaan, StatusOnline))
			kaanOnline := clk.Now()
			clk.Add(100 * time.Millisecond)
			if err := tt.come(r)(ctx); err != nil {
				t.Fatal(err)
			}
			tekBack := clk.Now()
			clk.Add(20 * time.Millisecond)

			as := must(r.Enqueue(ctx, "c2", "technical", 0))
			tekSince, winner, kaanFirst := assigned, "tek", false
			if tt.lapsed {
				tekSince, winner, kaanFirst = tekBack, "kaan", true
			}
			want := []Candidate{
				{AgentID: "tek", Load: 0, Max: 2, FreeSince: tekSince.UTC(), Chosen: winner == "tek"},
				{AgentID: "kaan", Load: 0, Max: 2, FreeSince: kaanOnline.UTC(), Chosen: winner == "kaan"},
			}
			if kaanFirst {
				want[0], want[1] = want[1], want[0]
			}
			if len(as) != 1 || as[0].AgentID != winner || !reflect.DeepEqual(as[0].Candidates, want) {
				t.Fatalf("c2: %+v, want it to go to %s with candidates %+v", as, winner, want)
			}
		})
	}
}

// TestReconnectTakesWaitingChats: an agent whose status is online and who
// opens a socket again after its connection lapsed is online at once and
// takes the chats waiting in its units, without a presence frame; one
// whose status is away takes none.
func TestReconnectTakesWaitingChats(t *testing.T) {
	for _, status := range []string{StatusOnline, StatusAway} {
		t.Run(status, func(t *testing.T) {
			ctx := context.Background()
			clk := newClock()
			r := newTestRedis(t, clk, Config{HeartbeatTTL: ttl, Grace: grace})
			must := must(t)
			a := Agent{ID: "a", Units: []string{"general", "account"}, MaxChats: 2}
			must(r.SetPresence(ctx, a, status))
			must(r.Connected(ctx, "a", "n1"))
			if err := r.Disconnected(ctx, "a", "n1"); err != nil {
				t.Fatal(err)
			}
			clk.Add(grace)
			must(r.Sweep(ctx))
			wantPairs(t, "enqueue while gone", must(r.Enqueue(ctx, "c1", "account", 0)))
			clk.Add(time.Second)
			got := must(r.Connected(ctx, "a", "n2"))
			if status == StatusOnline {
				wantPairs(t, "reconnect", got, "c1>a")
			} else {
				wantPairs(t, "reconnect", got)
				if q := queueIDs(t, r, "account"); !slices.Equal(q, []string{"c1"}) {
					t.Errorf("queue %v after an away agent's reconnect, want [c1]", q)
				}
			}
		})
	}
}
