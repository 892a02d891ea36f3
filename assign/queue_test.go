package assign

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestSelection(t *testing.T) {
	type step struct {
		do   string // "online", "away", "enqueue" or "release"
		id   string // agent id for online and away, chat id otherwise
		want []string
	}
	tests := []struct {
		name   string
		agents []Agent
		steps  []step
	}{
		{
			name:   "lowest load ratio, then idle longest, then id",
			agents: []Agent{{ID: "a", MaxChats: 2}, {ID: "b", MaxChats: 4}},
			steps: []step{
				{do: "online", id: "a"},
				{do: "online", id: "b"},
				{do: "enqueue", id: "c1", want: []string{"c1>a"}}, // all equal: id order
				{do: "enqueue", id: "c2", want: []string{"c2>b"}}, // 0/4 < 1/2
				{do: "enqueue", id: "c3", want: []string{"c3>b"}}, // 1/4 < 1/2
				{do: "enqueue", id: "c4", want: []string{"c4>a"}}, // 2/4 = 1/2: a idle longer
				{do: "enqueue", id: "c5", want: []string{"c5>b"}}, // a full
				{do: "enqueue", id: "c6", want: []string{"c6>b"}},
				{do: "enqueue", id: "c7"}, // everyone full
				{do: "release", id: "c1", want: []string{"c7>a"}},
			},
		},
		{
			name:   "free the longest: the later of the last assignment and coming online",
			agents: []Agent{{ID: "a", MaxChats: 1}, {ID: "b", MaxChats: 1}},
			steps: []step{
				{do: "online", id: "a"},
				{do: "enqueue", id: "c1", want: []string{"c1>a"}},
				{do: "release", id: "c1"},
				{do: "online", id: "b"},
				{do: "enqueue", id: "c2", want: []string{"c2>a"}}, // a free since c1, b only since coming online later
				{do: "release", id: "c2"},
				{do: "enqueue", id: "c3", want: []string{"c3>b"}}, // b free since coming online, before c2
				{do: "release", id: "c3"},
				{do: "enqueue", id: "c4", want: []string{"c4>a"}}, // a free since c2
				{do: "online", id: "a"},                           // online again while online: nothing restarts
				{do: "enqueue", id: "c5", want: []string{"c5>b"}},
			},
		},
		{
			name:   "never assigned: the one online first, not the lower id",
			agents: []Agent{{ID: "a", MaxChats: 1}, {ID: "b", MaxChats: 1}},
			steps: []step{
				{do: "online", id: "b"},
				{do: "online", id: "a"},
				{do: "enqueue", id: "c1", want: []string{"c1>b"}},
				{do: "enqueue", id: "c2", want: []string{"c2>a"}},
				{do: "release", id: "c1"},
				{do: "release", id: "c2"},
				{do: "away", id: "b"},
				{do: "online", id: "b"}, // back from away: free from now
				{do: "enqueue", id: "c3", want: []string{"c3>a"}},
			},
		},
		{
			name:   "only online agents with free slots",
			agents: []Agent{{ID: "a", MaxChats: 1}, {ID: "b", MaxChats: 1}},
			steps: []step{
				{do: "online", id: "a"},
				{do: "online", id: "b"},
				{do: "away", id: "a"},
				{do: "enqueue", id: "c1", want: []string{"c1>b"}},
				{do: "enqueue", id: "c2"},
				{do: "online", id: "a", want: []string{"c2>a"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clk := newClock()
			r := newTestRedis(t, clk, Config{})
			agents := map[string]Agent{}
			for _, a := range tt.agents {
				a.Units = []string{"general"}
				agents[a.ID] = a
			}
			for i, s := range tt.steps {
				clk.Add(time.Second)
				var got []Assignment
				var err error
				switch s.do {
				case "online":
					got, err = r.SetPresence(ctx, agents[s.id], StatusOnline)
				case "away":
					got, err = r.SetPresence(ctx, agents[s.id], StatusAway)
				case "enqueue":
					got, err = r.Enqueue(ctx, s.id, "general", 0)
				case "release":
					got, err = r.Release(ctx, s.id)
				}
				if err != nil {
					t.Fatalf("step %d %s %s: %v", i, s.do, s.id, err)
				}
				wantPairs(t, s.do+" "+s.id, got, s.want...)
			}
		})
	}
}

func TestCapacity(t *testing.T) {
	ctx := context.Background()
	r := newTestRedis(t, newClock(), Config{})
	must := must(t)
	a := Agent{ID: "a", Name: "Ayşe", Units: []string{"general"}, MaxChats: 2}
	must(r.SetPresence(ctx, a, StatusOnline))
	var assigned []string
	for _, c := range []string{"c1", "c2", "c3", "c4", "c5"} {
		assigned = append(assigned, pairs(must(r.Enqueue(ctx, c, "general", 0)))...)
	}
	if want := []string{"c1>a", "c2>a"}; !slices.Equal(assigned, want) {
		t.Fatalf("assigned %q, want %q", assigned, want)
	}
	wantLoad := func(load, max int) {
		t.Helper()
		got, err := r.Agents(ctx, "general")
		if err != nil {
			t.Fatal(err)
		}
		want := []AgentLoad{{ID: "a", Name: "Ayşe", Status: StatusOnline, Load: load, Max: max, Online: true}}
		if !slices.Equal(got, want) {
			t.Errorf("Agents = %+v, want %+v", got, want)
		}
	}
	wantLoad(2, 2)

	wantPairs(t, "raise capacity", must(r.Update(ctx, Agent{ID: "a", Name: "Ayşe", Units: []string{"general"}, MaxChats: 3})), "c3>a")
	wantLoad(3, 3)
	wantPairs(t, "lower capacity", must(r.Update(ctx, Agent{ID: "a", Name: "Ayşe", Units: []string{"general"}, MaxChats: 1})))
	wantPairs(t, "release above capacity", must(r.Release(ctx, "c1")))
	wantPairs(t, "release above capacity", must(r.Release(ctx, "c2")))
	wantPairs(t, "release at capacity", must(r.Release(ctx, "c3")), "c4>a")
	wantLoad(1, 1)
	if got, want := queueIDs(t, r, "general"), []string{"c5"}; !slices.Equal(got, want) {
		t.Errorf("queue %q, want %q", got, want)
	}
	_, err := r.Update(ctx, Agent{ID: "nobody", Units: []string{"general"}, MaxChats: 3})
	wantErr(t, "Update(nobody)", err, ErrNotFound)
}

func TestPriority(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	r := newTestRedis(t, clk, Config{})
	must := must(t)
	for i, c := range []struct {
		id   string
		prio int
	}{{"p0a", 0}, {"p1a", 1}, {"p0b", 0}, {"p1b", 1}, {"low", -1}, {"p5", 5}, {"huge", 1000}} {
		if i > 0 {
			clk.Add(time.Second)
		}
		must(r.Enqueue(ctx, c.id, "general", c.prio))
	}
	began := time.UnixMilli(1_700_000_000_000)
	q, err := r.Queue(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	var got []QueuedChat
	for _, c := range q {
		got = append(got, QueuedChat{ChatID: c.ChatID, Position: c.Position, Priority: c.Priority})
		// Each chat carries when it joined the queue: one second apart.
		enq := map[string]int{"p0a": 0, "p1a": 1, "p0b": 2, "p1b": 3, "low": 4, "p5": 5, "huge": 6}[c.ChatID]
		if want := began.Add(time.Duration(enq) * time.Second); !c.Since.Equal(want) {
			t.Errorf("%s: since %v, want %v", c.ChatID, c.Since, want)
		}
	}
	var z time.Time
	want := []QueuedChat{
		{"huge", 1, 0, MaxPriority, z}, {"p5", 2, 0, 5, z}, {"p1a", 3, 0, 1, z}, {"p1b", 4, 0, 1, z},
		{"p0a", 5, 0, 0, z}, {"p0b", 6, 0, 0, z}, {"low", 7, 0, -1, z},
	}
	if !slices.Equal(got, want) {
		t.Errorf("queue\n%+v, want\n%+v", got, want)
	}
	a := Agent{ID: "a", Units: []string{"general"}, MaxChats: 2}
	wantPairs(t, "online", must(r.SetPresence(ctx, a, StatusOnline)), "huge>a", "p5>a")
}

func TestMultiUnitDrain(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	r := newTestRedis(t, clk, Config{})
	must := must(t)
	for _, c := range []struct {
		id, unit string
		prio     int
	}{{"g1", "general", 0}, {"f1", "financial", 0}, {"g2", "general", 0}, {"f2", "financial", 1}} {
		clk.Add(time.Second)
		must(r.Enqueue(ctx, c.id, c.unit, c.prio))
	}
	a := Agent{ID: "a", Units: []string{"general", "financial"}, MaxChats: 3}
	wantPairs(t, "online", must(r.SetPresence(ctx, a, StatusOnline)), "f2>a", "g1>a", "f1>a")
	wantPairs(t, "release", must(r.Release(ctx, "f2")), "g2>a")
}

func TestIdempotence(t *testing.T) {
	ctx := context.Background()
	r := newTestRedis(t, newClock(), Config{})
	must := must(t)
	wantPairs(t, "enqueue", must(r.Enqueue(ctx, "c1", "general", 0)))
	wantPairs(t, "enqueue again", must(r.Enqueue(ctx, "c1", "general", 1)))
	if got := queueIDs(t, r, "general"); !slices.Equal(got, []string{"c1"}) {
		t.Errorf("queue %q, want [c1]", got)
	}
	a := Agent{ID: "a", Units: []string{"general"}, MaxChats: 2}
	wantPairs(t, "online", must(r.SetPresence(ctx, a, StatusOnline)), "c1>a")
	wantPairs(t, "enqueue assigned", must(r.Enqueue(ctx, "c1", "general", 0)))
	if got, err := r.AgentOf(ctx, "c1"); err != nil || got != "a" {
		t.Errorf("AgentOf(c1) = %q, %v; want a", got, err)
	}
	if got := queueIDs(t, r, "general"); len(got) != 0 {
		t.Errorf("queue %q, want empty", got)
	}
	for range 2 {
		wantPairs(t, "release", must(r.Release(ctx, "c1")))
	}
	if got, err := r.AgentOf(ctx, "c1"); err != nil || got != "" {
		t.Errorf("AgentOf(released) = %q, %v; want empty", got, err)
	}
	_, _, _, err := r.Position(ctx, "c1")
	wantErr(t, "Position(released)", err, ErrNotFound)

	// A queued chat that is released just leaves the queue.
	must(r.SetPresence(ctx, a, StatusAway))
	must(r.Enqueue(ctx, "c2", "general", 0))
	must(r.Enqueue(ctx, "c3", "general", 0))
	wantPairs(t, "release queued", must(r.Release(ctx, "c2")))
	if got := queueIDs(t, r, "general"); !slices.Equal(got, []string{"c3"}) {
		t.Errorf("queue %q, want [c3]", got)
	}
}

func TestETA(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	r := newTestRedis(t, clk, Config{HandleWindow: 2, DefaultHandle: 3 * time.Minute})
	must := must(t)
	a := Agent{ID: "a", Units: []string{"general"}, MaxChats: 1}
	must(r.SetPresence(ctx, a, StatusOnline))
	for _, c := range []string{"c0", "c1", "c2", "c3", "c4"} {
		must(r.Enqueue(ctx, c, "general", 0))
	}
	wantETAs := func(what string, want ...time.Duration) {
		t.Helper()
		q, err := r.Queue(ctx, "general")
		if err != nil {
			t.Fatal(err)
		}
		var got []time.Duration
		for i, c := range q {
			got = append(got, c.ETA)
			unit, pos, eta, err := r.Position(ctx, c.ChatID)
			if err != nil || unit != "general" || pos != i+1 || eta != c.ETA {
				t.Errorf("%s: Position(%s) = %s, %d, %v, %v; want general, %d, %v", what, c.ChatID, unit, pos, eta, err, i+1, c.ETA)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: ETAs %v, want %v", what, got, want)
		}
	}
	// a holds one chat at a time, so each handling time is the time between
	// releases.
	handle := func(chat string, d time.Duration) {
		t.Helper()
		clk.Add(d)
		if err := r.Heartbeat(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		must(r.Release(ctx, chat))
	}

	wantETAs("no handling times yet", 3*time.Minute, 6*time.Minute, 9*time.Minute, 12*time.Minute)
	handle("c0", time.Minute)
	wantETAs("one of 1m", time.Minute, 2*time.Minute, 3*time.Minute)
	handle("c1", 2*time.Minute)
	wantETAs("1m and 2m", 90*time.Second, 3*time.Minute)
	handle("c2", 5*time.Minute) // the window of 2 drops the 1m
	wantETAs("2m and 5m", 210*time.Second)

	b := Agent{ID: "b", Units: []string{"general"}, MaxChats: 3}
	must(r.SetPresence(ctx, b, StatusAway))
	for _, c := range []string{"c5", "c6"} {
		must(r.Enqueue(ctx, c, "general", 0))
	}
	wantETAs("away agents do not count", 210*time.Second, 420*time.Second, 630*time.Second)
	must(r.SetPresence(ctx, a, StatusAway))
	if as := must(r.SetPresence(ctx, b, StatusOnline)); len(as) != 3 {
		t.Fatalf("b took %q, want 3 chats", pairs(as))
	}
	for _, c := range []string{"c7", "c8"} {
		must(r.Enqueue(ctx, c, "general", 0))
	}
	wantETAs("capacity 3 shares the work", 70*time.Second, 140*time.Second)
	_, _, _, err := r.Position(ctx, "nope")
	wantErr(t, "Position(unknown)", err, ErrNotFound)
	if unit, pos, eta, err := r.Position(ctx, "c4"); err != nil || unit != "general" || pos != 0 || eta != 0 {
		t.Errorf("Position(assigned) = %s, %d, %v, %v; want general, 0, 0, nil", unit, pos, eta, err)
	}
}

// Restore counts a chat the database holds as active against its agent
// when Redis has forgotten it, and leaves a known chat alone.
func TestRestore(t *testing.T) {
	ctx := context.Background()
	r := newTestRedis(t, newClock(), Config{})
	must := must(t)
	must(r.SetPresence(ctx, Agent{ID: "a", Units: []string{"general"}, MaxChats: 2}, StatusOnline))
	if err := r.Restore(ctx, "old", "general", 0, "a", ""); err != nil {
		t.Fatal(err)
	}
	if err := r.Restore(ctx, "old", "general", 0, "b", ""); err != nil { // known now: unchanged
		t.Fatal(err)
	}
	if got, err := r.AgentOf(ctx, "old"); err != nil || got != "a" {
		t.Fatalf("AgentOf(old) = %q, %v; want a", got, err)
	}
	// One slot left: the first new chat takes it, the second waits.
	wantPairs(t, "enqueue", must(r.Enqueue(ctx, "c1", "general", 0)), "c1>a")
	wantPairs(t, "enqueue", must(r.Enqueue(ctx, "c2", "general", 0)))
	wantPairs(t, "release restored", must(r.Release(ctx, "old")), "c2>a")
}
