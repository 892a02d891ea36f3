package assign

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestIndexMatchesFullScan drives one Redis through a long random sequence
// of presence changes, capacity and unit changes, heartbeats that lapse and
// come back, disconnects, enqueues and releases. Before every enqueue into
// an empty queue it works out, from a full scan of the unit's agents
// (Agents) and the assignment times seen so far, which agent the rules
// pick: lowest load ratio, then free the longest (the later of the last
// assignment and coming online), then id. The free index the
// scripts select from must always agree.
func TestIndexMatchesFullScan(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			checkIndexAgainstScan(t, seed, 400)
		})
	}
}

func checkIndexAgainstScan(t *testing.T, seed uint64, steps int) {
	ctx := context.Background()
	clk := newClock()
	const ttl = 10 * time.Second
	r := newTestRedis(t, clk, Config{HeartbeatTTL: ttl, Grace: time.Hour})
	rnd := rand.New(rand.NewPCG(seed, seed))
	units := []string{"general", "financial"}

	agents := map[string]*Agent{}
	var ids []string
	for i := range 6 {
		a := &Agent{ID: fmt.Sprintf("a%d", i), Units: []string{units[i%2]}, MaxChats: 1 + i%3}
		agents[a.ID], ids = a, append(ids, a.ID)
	}
	last := map[string]int64{}  // agent -> ms of its last assignment
	since := map[string]int64{} // agent -> ms it came online
	var active []string         // chats with an agent
	record := func(as []Assignment) {
		for _, a := range as {
			if a.AgentID == "" {
				continue
			}
			last[a.AgentID] = clk.Now().UnixMilli()
			active = append(active, a.ChatID)
		}
	}
	must := func(as []Assignment, err error) []Assignment {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		record(as)
		return as
	}
	// The grace is longer than the test, so no connection lapses: only a
	// status that was not online starts the free time again (a socket that
	// closes and opens again within the grace changes nothing).
	status := map[string]string{}
	setPresence := func(id, s string) {
		if s == StatusOnline && status[id] != StatusOnline {
			since[id] = clk.Now().UnixMilli()
		}
		status[id] = s
		must(r.SetPresence(ctx, *agents[id], s))
	}
	free := func(id string) int64 { return max(last[id], since[id]) }
	for _, id := range ids {
		setPresence(id, StatusOnline)
	}

	// expected is the agent the rules pick in unit now ("" = none free).
	expected := func(unit string) string {
		loads, err := r.Agents(ctx, unit)
		if err != nil {
			t.Fatal(err)
		}
		best := -1
		for i, a := range loads {
			if !a.Online || a.Load >= a.Max {
				continue
			}
			if best < 0 {
				best = i
				continue
			}
			b := loads[best]
			l, rr := a.Load*b.Max, b.Load*a.Max
			if l < rr || (l == rr && (free(a.ID) < free(b.ID) || (free(a.ID) == free(b.ID) && a.ID < b.ID))) {
				best = i
			}
		}
		if best < 0 {
			return ""
		}
		return loads[best].ID
	}

	// waiting checks that chats wait in unit only while nobody can take one.
	waiting := func(step int, unit string) {
		t.Helper()
		if q := queueIDs(t, r, unit); len(q) > 0 {
			if free := expected(unit); free != "" {
				t.Fatalf("step %d: %v wait in %s while %s has a free slot", step, q, unit, free)
			}
		}
	}

	chatN := 0
	for step := range steps {
		clk.Add(time.Duration(1+rnd.IntN(50)) * time.Millisecond)
		id := ids[rnd.IntN(len(ids))]
		switch op := rnd.IntN(20); {
		case op < 8: // a new chat
			unit := units[rnd.IntN(len(units))]
			empty := len(queueIDs(t, r, unit)) == 0
			want := expected(unit)
			chatN++
			chat := fmt.Sprint("c", chatN)
			as := must(r.Enqueue(ctx, chat, unit, 0))
			waiting(step, unit)
			if !empty {
				continue
			}
			got := ""
			if len(as) > 0 {
				got = as[0].AgentID
			}
			if got != want {
				t.Fatalf("step %d: %s in %s went to %q, a full scan picks %q", step, chat, unit, got, want)
			}
		case op < 12: // a chat ends
			if len(active) == 0 {
				continue
			}
			i := rnd.IntN(len(active))
			chat := active[i]
			active = slices.Delete(active, i, i+1)
			must(r.Release(ctx, chat))
		case op < 14:
			status := []string{StatusOnline, StatusAway, StatusOffline}[rnd.IntN(3)]
			setPresence(id, status)
		case op < 15:
			agents[id].MaxChats = rnd.IntN(4)
			must(r.Update(ctx, *agents[id]))
		case op < 16:
			a := agents[id]
			a.Units = [][]string{{"general"}, {"financial"}, units}[rnd.IntN(3)]
			must(r.Update(ctx, *a))
		case op < 17: // time passes; only some agents' heartbeats arrive
			clk.Add(ttl)
			var alive []string
			for _, id := range ids {
				if rnd.IntN(3) > 0 {
					alive = append(alive, id)
				}
			}
			if err := r.Heartbeat(ctx, alive...); err != nil {
				t.Fatal(err)
			}
		case op < 18:
			if err := r.Disconnected(ctx, id, "n1"); err != nil {
				t.Fatal(err)
			}
		case op < 19:
			must(r.Connected(ctx, id, "n1")) // drains the agent's units
			for _, u := range agents[id].Units {
				waiting(step, u)
			}
		default: // the periodic sweep also drains every unit
			must(r.Sweep(ctx))
			for _, u := range units {
				waiting(step, u)
			}
		}
	}
	if chatN < steps/4 {
		t.Fatalf("only %d chats in %d steps", chatN, steps)
	}
}
