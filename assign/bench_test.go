package assign

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkEnqueueRelease is one assignment and one release: the Lua
// scripts a chat.start and a chat.close run, one round trip each, with 50
// agents in the unit to choose from.
func BenchmarkEnqueueRelease(b *testing.B) {
	ctx := context.Background()
	r := newTestRedis(b, newClock(), Config{})
	for i := range 50 {
		if _, err := r.SetPresence(ctx, Agent{ID: fmt.Sprintf("a%02d", i), Units: []string{"general"}, MaxChats: 10}, StatusOnline); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := fmt.Sprint("c", i)
		as, err := r.Enqueue(ctx, id, "general", 0)
		if err != nil || len(as) != 1 {
			b.Fatalf("enqueue: %v %v", as, err)
		}
		if _, err := r.Release(ctx, id); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
