package assign

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentNodes runs two Redis instances ("nodes") on one Redis with
// hundreds of concurrent Enqueue and Release calls, and checks that nobody
// is ever over capacity, no chat is assigned twice, every chat ends up
// assigned or queued, and the queues keep their order.
func TestConcurrentNodes(t *testing.T) {
	const chats = 400
	ctx := context.Background()
	clk := newClock()
	opts, prefix := testServer(t)
	nodes := []*Redis{
		New(dial(t, opts), Config{Prefix: prefix, Now: clk.Now}),
		New(dial(t, opts), Config{Prefix: prefix, Now: clk.Now}),
	}
	units := []string{"general", "financial"}
	agents := map[string]Agent{}
	for i := range 8 {
		a := Agent{ID: fmt.Sprintf("a%d", i), Units: []string{units[i%2]}, MaxChats: 1 + i%3}
		if i >= 6 {
			a.Units = units
		}
		agents[a.ID] = a
		if _, err := nodes[i%2].SetPresence(ctx, a, StatusOnline); err != nil {
			t.Fatal(err)
		}
	}

	type call struct{ start, end int64 } // order of Enqueue calls
	var (
		mu       sync.Mutex
		assigned = map[string]string{} // chat -> agent, ever
		released = map[string]bool{}
		calls    = map[string]call{}
		clock    atomic.Int64
		wg       sync.WaitGroup
	)
	unitOf := func(i int) string { return units[i%2] }
	prioOf := func(i int) int { return i / 7 % 2 }
	var record func(node *Redis, as []Assignment)
	release := func(node *Redis, chat string) {
		defer wg.Done()
		as, err := node.Release(ctx, chat)
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		released[chat] = true
		mu.Unlock()
		record(node, as)
	}
	// record checks assignments and releases all but every eleventh assigned
	// chat, from the other node; the kept ones fill the agents up.
	record = func(node *Redis, as []Assignment) {
		mu.Lock()
		defer mu.Unlock()
		for _, a := range as {
			if a.AgentID == "" {
				t.Errorf("unexpected requeue %+v", a)
				continue
			}
			if prev, ok := assigned[a.ChatID]; ok {
				t.Errorf("%s assigned twice: to %s and %s", a.ChatID, prev, a.AgentID)
			}
			assigned[a.ChatID] = a.AgentID
			var i int
			fmt.Sscanf(a.ChatID, "c%d", &i)
			if a.Unit != unitOf(i) {
				t.Errorf("%s assigned in unit %s, want %s", a.ChatID, a.Unit, unitOf(i))
			}
			if i%11 != 0 {
				other := nodes[0]
				if node == other {
					other = nodes[1]
				}
				wg.Add(1)
				go release(other, a.ChatID)
			}
		}
	}

	// Watch loads while everything runs.
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, u := range units {
				list, err := nodes[1].Agents(ctx, u)
				if err != nil {
					t.Error(err)
					return
				}
				for _, a := range list {
					if a.Load > a.Max {
						t.Errorf("agent %s holds %d chats, max %d", a.ID, a.Load, a.Max)
					}
				}
			}
		}
	}()

	for i := range chats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chat := fmt.Sprintf("c%d", i)
			node := nodes[i%2]
			start := clock.Add(1)
			as, err := node.Enqueue(ctx, chat, unitOf(i), prioOf(i))
			end := clock.Add(1)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			calls[chat] = call{start, end}
			mu.Unlock()
			record(node, as)
		}()
	}
	wg.Wait()
	close(stop)
	<-watched

	// Every chat not released is assigned to the agent reported, or queued.
	load := map[string]int{}
	queued := 0
	for i := range chats {
		chat := fmt.Sprintf("c%d", i)
		agent, err := nodes[0].AgentOf(ctx, chat)
		if err != nil {
			t.Fatal(err)
		}
		_, pos, _, err := nodes[1].Position(ctx, chat)
		switch {
		case released[chat]:
			if agent != "" || err == nil {
				t.Errorf("released %s: agent %q, position error %v", chat, agent, err)
			}
		case err != nil:
			t.Errorf("Position(%s): %v", chat, err)
		case agent != assigned[chat]:
			t.Errorf("%s is with %q, reported %q", chat, agent, assigned[chat])
		case agent == "" && pos == 0:
			t.Errorf("%s is neither assigned nor queued", chat)
		case agent != "" && pos != 0:
			t.Errorf("%s is assigned and queued at %d", chat, pos)
		case agent != "":
			load[agent]++
		default:
			queued++
		}
	}
	t.Logf("%d chats: %d assigned, %d released, %d queued", chats, len(assigned), len(released), queued)
	if queued == 0 {
		t.Error("nothing left queued: the test does not exercise full agents")
	}

	// Loads match, and a unit with waiting chats has no free online agent.
	total := 0
	for _, u := range units {
		list, err := nodes[0].Agents(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		q, err := nodes[0].Queue(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		total += len(q)
		for _, a := range list {
			if a.Load != load[a.ID] || a.Max != agents[a.ID].MaxChats {
				t.Errorf("agent %s: load %d/%d, want %d/%d", a.ID, a.Load, a.Max, load[a.ID], agents[a.ID].MaxChats)
			}
			if len(q) > 0 && a.Load < a.Max {
				t.Errorf("agent %s has a free slot while %d chats wait in %s", a.ID, len(q), u)
			}
		}
		// Queue order: priority first, then arrival where calls did not overlap.
		for i, x := range q {
			for _, y := range q[i+1:] {
				if x.Priority < y.Priority {
					t.Errorf("%s: %s (priority %d) before %s (priority %d)", u, x.ChatID, x.Priority, y.ChatID, y.Priority)
				}
				if x.Priority == y.Priority && calls[y.ChatID].end < calls[x.ChatID].start {
					t.Errorf("%s: %s before %s, which arrived earlier", u, x.ChatID, y.ChatID)
				}
			}
		}
	}
	if total != queued {
		t.Errorf("queues hold %d chats, want %d", total, queued)
	}
}
