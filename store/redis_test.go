package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestParseSentinel(t *testing.T) {
	tests := []struct {
		url, master, pw string
		addrs, db       int
		bad             bool
	}{
		{url: "redis+sentinel://h1:26379,h2:26379/mymaster", master: "mymaster", addrs: 2},
		{url: "redis+sentinel://:secret@h1:26379/mymaster/3", master: "mymaster", pw: "secret", addrs: 1, db: 3},
		{url: "redis+sentinel://h1:26379/", bad: true},
		{url: "redis+sentinel://h1:26379/m/x", bad: true},
	}
	for _, tt := range tests {
		opt, err := parseSentinel(tt.url)
		if tt.bad {
			if err == nil {
				t.Errorf("%s: accepted", tt.url)
			}
			continue
		}
		if err != nil || opt.MasterName != tt.master || opt.Password != tt.pw || len(opt.SentinelAddrs) != tt.addrs || opt.DB != tt.db {
			t.Errorf("%s: %+v %v", tt.url, opt, err)
		}
	}
}

// openEmbedded starts an embedded Redis for the test.
func openEmbedded(t *testing.T) *Redis {
	t.Helper()
	r, err := OpenRedis(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// The embedded Redis answers only the client chatd made for it.
func TestEmbeddedRedisNeedsItsPassword(t *testing.T) {
	ctx := context.Background()
	r := openEmbedded(t)
	if err := r.Ping(ctx).Err(); err != nil {
		t.Fatalf("chatd's own client: %v", err)
	}
	addr := r.UniversalClient.(*redis.Client).Options().Addr
	stranger := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true})
	t.Cleanup(func() { stranger.Close() })
	if err := stranger.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("a client without the password got %v, want NOAUTH", err)
	}
}

// Keys with a TTL expire in the embedded Redis as in a real one.
func TestEmbeddedRedisExpiresKeys(t *testing.T) {
	ctx := context.Background()
	r := openEmbedded(t)
	if err := r.Set(ctx, "k", "v", time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.Exists(ctx, "k").Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("a key with a 1 s TTL still exists after 5 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
