package assign

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// clock is a settable Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.UnixMilli(1_700_000_000_000)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testServer returns options for the Redis named by TEST_REDIS_URL, or for a
// fresh miniredis, and a key prefix unique to the test whose keys are
// deleted when it ends.
func testServer(t testing.TB) (*redis.Options, string) {
	t.Helper()
	prefix := fmt.Sprintf("{t%016x}:", rand.Uint64())
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		return &redis.Options{Addr: miniredis.RunT(t).Addr(), DisableIdentity: true}, prefix
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	opts.DisableIdentity = true
	rdb := dial(t, opts)
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("scan test keys: %v", err)
		}
		if len(keys) > 0 {
			if err := rdb.Del(ctx, keys...).Err(); err != nil {
				t.Errorf("delete test keys: %v", err)
			}
		}
	})
	return opts, prefix
}

func dial(t testing.TB, opts *redis.Options) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// newTestRedis returns a Redis on its own keys, driven by clk.
func newTestRedis(t testing.TB, clk *clock, cfg Config) *Redis {
	t.Helper()
	opts, prefix := testServer(t)
	cfg.Prefix, cfg.Now = prefix, clk.Now
	return New(dial(t, opts), cfg)
}

// pairs renders assignments as "chat>agent", in order, for comparisons.
func pairs(as []Assignment) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ChatID+">"+a.AgentID)
	}
	return out
}

func queueIDs(t *testing.T, r *Redis, unit string) []string {
	t.Helper()
	q, err := r.Queue(context.Background(), unit)
	if err != nil {
		t.Fatalf("Queue(%s): %v", unit, err)
	}
	var ids []string
	for _, c := range q {
		ids = append(ids, c.ChatID)
	}
	return ids
}

// must returns a checker that fails the test on an error and passes the
// assignments through: must := must(t); got := must(r.Enqueue(...)).
func must(t *testing.T) func([]Assignment, error) []Assignment {
	return func(as []Assignment, err error) []Assignment {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return as
	}
}

func wantPairs(t *testing.T, what string, got []Assignment, want ...string) {
	t.Helper()
	if g := pairs(got); !slices.Equal(g, want) {
		t.Errorf("%s assigned %q, want %q", what, g, want)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

// AgentOf returns the agent serving the chat, or "" when none does.
func (r *Redis) AgentOf(ctx context.Context, chatID string) (string, error) {
	id, err := r.rdb.HGet(ctx, r.keys.chat(chatID), "agent").Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return id, err
}

// brief keeps what the assignment tests compare: chat, unit, agent and
// whether and from whom it was taken.
func brief(as []Assignment) []Assignment {
	var out []Assignment
	for _, a := range as {
		out = append(out, Assignment{ChatID: a.ChatID, Unit: a.Unit, AgentID: a.AgentID, Requeued: a.Requeued, From: a.From})
	}
	return out
}
