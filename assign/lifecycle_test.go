package assign

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// Every assignment carries what the rule weighed: the free agents best
// first with their load and capacity, the chosen one marked, and how long
// the chat waited.
func TestAssignmentsExplainThemselves(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	r := newTestRedis(t, clk, Config{})
	must := must(t)
	must(r.SetPresence(ctx, Agent{ID: "a", Units: []string{"general"}, MaxChats: 2}, StatusOnline))
	clk.Add(time.Second)
	must(r.SetPresence(ctx, Agent{ID: "b", Units: []string{"general"}, MaxChats: 4}, StatusOnline))
	clk.Add(time.Second)
	as := must(r.Enqueue(ctx, "c1", "general", 0))
	if len(as) != 1 || as[0].Rule != RuleLowestLoad || as[0].AgentID != "a" {
		t.Fatalf("c1: %+v", as)
	}
	onlineA := clk.Now().Add(-2 * time.Second)
	onlineB := clk.Now().Add(-time.Second)
	want := []Candidate{
		{AgentID: "a", Load: 0, Max: 2, FreeSince: onlineA.UTC(), Chosen: true},
		{AgentID: "b", Load: 0, Max: 4, FreeSince: onlineB.UTC()},
	}
	if !reflect.DeepEqual(as[0].Candidates, want) {
		t.Errorf("c1 candidates %+v, want %+v", as[0].Candidates, want)
	}
	// Nobody with a slot for c2 and c3 but b; c3 waits 5s for a's slot.
	must(r.SetPresence(ctx, Agent{ID: "b", Units: []string{"general"}, MaxChats: 4}, StatusAway))
	must(r.Enqueue(ctx, "c2", "general", 0))
	must(r.Enqueue(ctx, "c3", "general", 0))
	clk.Add(5 * time.Second)
	as = must(r.Release(ctx, "c1"))
	if len(as) != 1 || as[0].ChatID != "c3" || as[0].Waited != 5*time.Second {
		t.Fatalf("after release: %+v", as)
	}
	if c := as[0].Candidates; len(c) != 1 || c[0].AgentID != "a" || c[0].Load != 1 || c[0].Max != 2 || !c[0].Chosen {
		t.Errorf("c3 candidates %+v", c)
	}
}

// An assigned chat left unanswered goes back to the head of its queue, to
// the next agent by the same rules but never to the one who left it, while
// another agent of the unit is online; the chats behind it are served by
// the agent it skipped.
func TestNoResponse(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	r := newTestRedis(t, clk, Config{})
	must := must(t)
	a := Agent{ID: "a", Units: []string{"general"}, MaxChats: 1}
	b := Agent{ID: "b", Units: []string{"general"}, MaxChats: 1}
	must(r.SetPresence(ctx, a, StatusOnline))
	clk.Add(time.Second)
	must(r.SetPresence(ctx, b, StatusOnline))
	clk.Add(time.Second)
	wantPairs(t, "c1", must(r.Enqueue(ctx, "c1", "general", 0)), "c1>a")
	at := clk.Now()
	wantPairs(t, "c2", must(r.Enqueue(ctx, "c2", "general", 0)), "c2>b")
	clk.Add(time.Second)
	must(r.Enqueue(ctx, "c3", "general", 0)) // waits

	limits := Limits{FirstResponse: 90 * time.Second, Recheck: time.Minute}
	// Time passes with the agents' consoles connected.
	wait := func(d time.Duration) {
		t.Helper()
		for ; d > 0; d -= 5 * time.Second {
			clk.Add(min(d, 5*time.Second))
			if err := r.Heartbeat(ctx, "a", "b"); err != nil {
				t.Fatal(err)
			}
		}
	}
	wait(88 * time.Second)
	if ev, err := r.Lifecycle(ctx, limits); err != nil || len(ev) != 0 {
		t.Fatalf("before the timeout: %+v %v", ev, err)
	}
	if err := r.Answered(ctx, "c2"); err != nil { // b answered
		t.Fatal(err)
	}
	wait(2 * time.Second)
	ev, err := r.Lifecycle(ctx, limits)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Event{{Kind: EventUnanswered, ChatID: "c1", ID: "a", At: at.UTC()}}; !reflect.DeepEqual(ev, want) {
		t.Fatalf("due %+v, want %+v", ev, want)
	}
	if ev, _ := r.Lifecycle(ctx, limits); len(ev) != 0 {
		t.Errorf("reported again within the recheck: %+v", ev)
	}
	if _, err := r.NoResponse(ctx, "c1", "a", at.Add(-time.Second)); err == nil {
		t.Error("NoResponse of another assignment succeeded")
	}
	// a's slot takes c3 (c1 may not go back to a while b is online); c1
	// waits at the head for b.
	as := must(r.NoResponse(ctx, "c1", "a", at))
	if got := brief(as); !reflect.DeepEqual(got, []Assignment{
		{ChatID: "c3", Unit: "general", AgentID: "a"},
		{ChatID: "c1", Unit: "general", Requeued: true, From: "a"},
	}) {
		t.Fatalf("no response: %+v", as)
	}
	if as[1].Reason != ReasonNoResponse || as[1].Rule != ReasonNoResponse {
		t.Errorf("requeued entry %+v", as[1])
	}
	if q := queueIDs(t, r, "general"); !slices.Equal(q, []string{"c1"}) {
		t.Errorf("queue %v", q)
	}
	// b frees: c1 goes to b. a frees: nothing for a.
	wantPairs(t, "release c2", must(r.Release(ctx, "c2")), "c1>b")
	wantPairs(t, "release c1", must(r.Release(ctx, "c1")))
	// With b gone, the exclusion of a lapses: an unanswered chat is given
	// back rather than left unseen.
	clk.Add(time.Second)
	wantPairs(t, "c4", must(r.Enqueue(ctx, "c4", "general", 0)), "c4>b")
	at4 := clk.Now()
	must(r.Release(ctx, "c3"))
	wait(91 * time.Second)
	must(r.SetPresence(ctx, a, StatusOnline))
	must(r.SetPresence(ctx, b, StatusOffline))
	as = must(r.NoResponse(ctx, "c4", "b", at4))
	if len(as) != 1 || as[0].AgentID != "a" || as[0].Reason != ReasonNoResponse || as[0].From != "b" {
		t.Fatalf("c4 to a: %+v", as)
	}
	must(r.SetPresence(ctx, b, StatusOnline))
	wait(91 * time.Second)
	ev, _ = r.Lifecycle(ctx, limits)
	if len(ev) != 1 || ev[0].ChatID != "c4" || ev[0].ID != "a" {
		t.Fatalf("c4 unanswered by a: %+v", ev)
	}
	// Both left it unanswered; a third agent comes online and gets it, the
	// two weighed and marked excluded.
	must(r.SetPresence(ctx, Agent{ID: "c", Units: []string{"general"}, MaxChats: 1}, StatusOnline))
	as = must(r.NoResponse(ctx, "c4", "a", ev[0].At))
	if len(as) != 1 || as[0].AgentID != "c" {
		t.Fatalf("c4 to c: %+v", as)
	}
	flags := map[string]bool{}
	for _, c := range as[0].Candidates {
		flags[c.AgentID] = c.Excluded
	}
	if !reflect.DeepEqual(flags, map[string]bool{"a": true, "b": true, "c": false}) {
		t.Errorf("candidates %+v", as[0].Candidates)
	}
}

// Visitors are present while any socket on any node is open; a node that
// dies takes its sockets with it. Chats whose visitor left are reported
// past the limits, by the clock.
func TestVisitorPresenceAndLimits(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	const ttl = 15 * time.Second
	r := newTestRedis(t, clk, Config{HeartbeatTTL: ttl})
	must := must(t)
	limits := Limits{VisitorTimeout: 3 * time.Minute, IdleClose: 15 * time.Minute, Recheck: time.Second}
	alive := []string{"n1", "n2"}
	lifecycle := func() []Event {
		t.Helper()
		for _, n := range alive {
			if err := r.NodeHeartbeat(ctx, n, nil); err != nil {
				t.Fatal(err)
			}
		}
		ev, err := r.Lifecycle(ctx, limits)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	conn := func(v, node string) VisitorChange {
		t.Helper()
		ch, err := r.VisitorConnected(ctx, v, node)
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	disc := func(v, node string) VisitorChange {
		t.Helper()
		ch, err := r.VisitorDisconnected(ctx, v, node)
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	// v1 waits with tabs on two nodes; v2 is served.
	conn("v1", "n1")
	conn("v1", "n2")
	conn("v2", "n1")
	must(r.EnqueueChat(ctx, Waiting{ChatID: "q1", Unit: "general", VisitorID: "v1"}))
	must(r.SetPresence(ctx, Agent{ID: "a", Units: []string{"technical"}, MaxChats: 2}, StatusOnline))
	as := must(r.EnqueueChat(ctx, Waiting{ChatID: "t1", Unit: "technical", VisitorID: "v2"}))
	if len(as) != 1 || !as[0].VisitorOnline {
		t.Fatalf("t1: %+v", as)
	}

	if ch := disc("v1", "n1"); ch.ChatID != "" {
		t.Errorf("one of two tabs closed: %+v", ch)
	}
	clk.Add(10 * time.Minute)
	if ev := lifecycle(); len(ev) != 0 {
		t.Fatalf("present visitors reported: %+v", ev)
	}
	left := clk.Now()
	if ch := disc("v1", "n2"); ch.ChatID != "q1" || !ch.At.Equal(left) {
		t.Errorf("last tab closed: %+v", ch)
	}
	if p, err := r.Visitors(ctx, "v1", "v2", "nobody"); err != nil || !reflect.DeepEqual(p, []Presence{{LeftAt: left.UTC()}, {Online: true}, {}}) {
		t.Errorf("presence %+v %v", p, err)
	}
	clk.Add(3*time.Minute - time.Millisecond)
	if ev := lifecycle(); len(ev) != 0 {
		t.Fatalf("reported before the timeout: %+v", ev)
	}
	// Back in time: nothing is due, and the change says so.
	if ch := conn("v1", "n2"); ch.ChatID != "q1" || !ch.At.Equal(left) {
		t.Errorf("came back: %+v", ch)
	}
	clk.Add(time.Hour)
	if ev := lifecycle(); len(ev) != 0 {
		t.Fatalf("a returned visitor reported: %+v", ev)
	}
	left = clk.Now()
	disc("v1", "n2")
	clk.Add(3 * time.Minute)
	if ev := lifecycle(); !reflect.DeepEqual(ev, []Event{{Kind: EventQueuedLeft, ChatID: "q1", ID: "v1", At: left.UTC()}}) {
		t.Fatalf("queued chat due %+v", ev)
	}
	if ev := lifecycle(); len(ev) != 0 {
		t.Errorf("reported twice within the recheck: %+v", ev)
	}
	must(r.Release(ctx, "q1"))
	clk.Add(time.Hour)
	if ev := lifecycle(); len(ev) != 0 {
		t.Errorf("a released chat reported: %+v", ev)
	}

	// n1 dies with v2's socket: after the TTL v2 is gone from n1's last
	// heartbeat, and its active chat closes after the idle limit.
	lifecycle()
	alive = []string{"n2"}
	hb := clk.Now()
	clk.Add(ttl + time.Millisecond)
	ev := lifecycle()
	if !reflect.DeepEqual(ev, []Event{{Kind: EventOffline, ChatID: "t1", ID: "v2", At: hb.UTC()}}) {
		t.Fatalf("dead node: %+v", ev)
	}
	clk.Add(15*time.Minute - ttl)
	if ev := lifecycle(); !reflect.DeepEqual(ev, []Event{{Kind: EventIdle, ChatID: "t1", ID: "v2", At: hb.UTC()}}) {
		t.Fatalf("idle chat due %+v", ev)
	}
	// The node was only slow: its heartbeat restates its sockets.
	if err := r.NodeHeartbeat(ctx, "n1", func() map[string]int { return map[string]int{"v2": 1} }); err != nil {
		t.Fatal(err)
	}
	alive = []string{"n1", "n2"}
	if p, _ := r.Visitors(ctx, "v2"); !p[0].Online {
		t.Errorf("restated socket not counted: %+v", p)
	}
	clk.Add(time.Hour)
	if ev := lifecycle(); len(ev) != 0 {
		t.Errorf("restated visitor reported: %+v", ev)
	}
}

// lifecycleKinds counts the events by kind.
func lifecycleKinds(ev []Event) map[string]int {
	n := map[string]int{}
	for _, e := range ev {
		n[e.Kind]++
	}
	return n
}

// A limit set to 0 never acts: with each of the three off and the others
// on, a day passes by the clock with a waiting chat and a served chat
// whose visitors left and whose agent never answered; the limit that is
// off reports nothing, the others report theirs.
func TestLimitsOff(t *testing.T) {
	on := Limits{VisitorTimeout: 3 * time.Minute, IdleClose: 15 * time.Minute, FirstResponse: 90 * time.Second, Recheck: time.Second}
	for _, c := range []struct {
		name string
		off  func(*Limits)
		kind string
	}{
		{"CHAT_VISITOR_TIMEOUT=0", func(l *Limits) { l.VisitorTimeout = 0 }, EventQueuedLeft},
		{"CHAT_IDLE_CLOSE=0", func(l *Limits) { l.IdleClose = 0 }, EventIdle},
		{"CHAT_FIRST_RESPONSE_TIMEOUT=0", func(l *Limits) { l.FirstResponse = 0 }, EventUnanswered},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			clk := newClock()
			r := newTestRedis(t, clk, Config{})
			must := must(t)
			for _, v := range []string{"vq", "va"} {
				if _, err := r.VisitorConnected(ctx, v, "n1"); err != nil {
					t.Fatal(err)
				}
			}
			must(r.SetPresence(ctx, Agent{ID: "a", Units: []string{"general"}, MaxChats: 1}, StatusOnline))
			wantPairs(t, "served", must(r.EnqueueChat(ctx, Waiting{ChatID: "ca", Unit: "general", VisitorID: "va"})), "ca>a")
			wantPairs(t, "waiting", must(r.EnqueueChat(ctx, Waiting{ChatID: "cq", Unit: "general", VisitorID: "vq"})))
			for _, v := range []string{"vq", "va"} {
				if _, err := r.VisitorDisconnected(ctx, v, "n1"); err != nil {
					t.Fatal(err)
				}
			}
			l := on
			c.off(&l)
			seen := map[string]int{}
			for range 24 * 12 { // a day, five minutes at a time, with the agent and node alive
				clk.Add(5 * time.Minute)
				if err := r.Heartbeat(ctx, "a"); err != nil {
					t.Fatal(err)
				}
				if err := r.NodeHeartbeat(ctx, "n1", nil); err != nil {
					t.Fatal(err)
				}
				ev, err := r.Lifecycle(ctx, l)
				if err != nil {
					t.Fatal(err)
				}
				for k, n := range lifecycleKinds(ev) {
					seen[k] += n
				}
			}
			if seen[c.kind] != 0 {
				t.Errorf("%s reported %d times with its limit off", c.kind, seen[c.kind])
			}
			for _, k := range []string{EventQueuedLeft, EventIdle, EventUnanswered} {
				if k != c.kind && seen[k] == 0 {
					t.Errorf("%s never reported with its limit on (%v)", k, seen)
				}
			}
			if q := queueIDs(t, r, "general"); !slices.Equal(q, []string{"cq"}) {
				t.Errorf("queue %v: nothing moved by itself", q)
			}
			if ag, err := r.AgentOf(ctx, "ca"); err != nil || ag != "a" {
				t.Errorf("the served chat is with %q (%v)", ag, err)
			}
		})
	}
}

// With CHAT_IDLE_CLOSE=0 the visitors gone from served chats are never
// due; however many there are, they do not hide a waiting chat whose
// visitor left after them.
func TestGoneServedVisitorsDoNotHideQueued(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	r := newTestRedis(t, clk, Config{})
	must := must(t)
	const served = 10*lifecycleBatch + 50 // more than one scan window
	must(r.SetPresence(ctx, Agent{ID: "a", Units: []string{"general"}, MaxChats: served}, StatusOnline))
	for i := range served {
		v, chat := fmt.Sprintf("v%d", i), fmt.Sprintf("c%d", i)
		if _, err := r.VisitorConnected(ctx, v, "n1"); err != nil {
			t.Fatal(err)
		}
		if as := must(r.EnqueueChat(ctx, Waiting{ChatID: chat, Unit: "general", VisitorID: v})); len(as) != 1 || as[0].AgentID != "a" {
			t.Fatalf("%s: %+v", chat, as)
		}
		if _, err := r.VisitorDisconnected(ctx, v, "n1"); err != nil {
			t.Fatal(err)
		}
	}
	limits := Limits{VisitorTimeout: 3 * time.Minute, Recheck: time.Second}
	clk.Add(time.Hour)
	if ev, err := r.Lifecycle(ctx, limits); err != nil || len(ev) != 0 {
		t.Fatalf("gone visitors of served chats reported with idle close off: %d events, %v", len(ev), err)
	}
	// A waiting chat in a unit nobody serves; its visitor leaves later than all of them.
	if _, err := r.VisitorConnected(ctx, "late", "n1"); err != nil {
		t.Fatal(err)
	}
	must(r.EnqueueChat(ctx, Waiting{ChatID: "q", Unit: "financial", VisitorID: "late"}))
	left := clk.Now()
	if _, err := r.VisitorDisconnected(ctx, "late", "n1"); err != nil {
		t.Fatal(err)
	}
	clk.Add(3 * time.Minute)
	if err := r.Heartbeat(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := r.NodeHeartbeat(ctx, "n1", nil); err != nil {
		t.Fatal(err)
	}
	ev, err := r.Lifecycle(ctx, limits)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Event{{Kind: EventQueuedLeft, ChatID: "q", ID: "late", At: left.UTC()}}; !reflect.DeepEqual(ev, want) {
		t.Fatalf("due %+v, want %+v", ev, want)
	}
	// A served chat going back to the queue (its agent is gone) is due by
	// the visitor timeout again.
	must(r.SetPresence(ctx, Agent{ID: "a", Units: []string{"general"}, MaxChats: served}, StatusOffline))
	clk.Add(time.Hour)
	if _, err := r.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.NodeHeartbeat(ctx, "n1", nil); err != nil {
		t.Fatal(err)
	}
	ev, err = r.Lifecycle(ctx, limits)
	if err != nil {
		t.Fatal(err)
	}
	if n := lifecycleKinds(ev)[EventQueuedLeft]; n != lifecycleBatch {
		t.Errorf("after the agent left, %d waiting chats of gone visitors reported, want a batch of %d", n, lifecycleBatch)
	}
}
