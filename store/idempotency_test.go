package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/chatd/chatd/store/storetest"
)

// TestIdempotencyClaimLease: a claim whose request never answered (its
// node died) holds off retries only for its lease; then one retry of the
// same request takes it over, and a request with another body still may not.
func TestIdempotencyClaimLease(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	const ttl = 24 * time.Hour
	if a, err := db.BeginIdempotent(ctx, "key:1", "k", "h1", ttl, time.Hour); a != nil || err != nil {
		t.Fatalf("first claim: %+v %v", a, err)
	}
	if a, err := db.BeginIdempotent(ctx, "key:1", "k", "h1", ttl, time.Hour); err != nil || a == nil || a.Status != 0 {
		t.Fatalf("a retry within the lease: %+v %v; want the running claim", a, err)
	}
	time.Sleep(20 * time.Millisecond)
	if a, err := db.BeginIdempotent(ctx, "key:1", "k", "h2", ttl, time.Millisecond); err != nil || a == nil || a.RequestHash != "h1" {
		t.Fatalf("another request after the lease: %+v %v; want the claim kept (reused key)", a, err)
	}
	if a, err := db.BeginIdempotent(ctx, "key:1", "k", "h1", ttl, time.Millisecond); a != nil || err != nil {
		t.Fatalf("the same request after the lease: %+v %v; want the claim taken over", a, err)
	}
	if a, err := db.BeginIdempotent(ctx, "key:1", "k", "h1", ttl, time.Hour); err != nil || a == nil || a.Status != 0 {
		t.Fatalf("a retry after the takeover: %+v %v; want the new claim running", a, err)
	}
	if err := db.FinishIdempotent(ctx, "key:1", "k", 201, `{"id":"x"}`, true); err != nil {
		t.Fatal(err)
	}
	a, err := db.BeginIdempotent(ctx, "key:1", "k", "h1", ttl, time.Millisecond)
	if err != nil || a == nil || a.Status != 201 || a.Secret != 1 || a.Body != `{"id":"x"}` {
		t.Fatalf("after the answer: %+v %v; want it kept, marked secret, never taken over", a, err)
	}
}
