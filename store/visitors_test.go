package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store/storetest"
)

func TestVisitorTokensStored(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	v := &chat.Visitor{Name: "Ayşe"}
	if err := db.CreateVisitor(ctx, v); err != nil {
		t.Fatal(err)
	}
	a, err := db.CreateVisitorToken(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := db.CreateVisitorToken(ctx, v.ID)
	got, used, err := db.VisitorToken(ctx, a)
	if err != nil || got.ID != v.ID || got.Name != "Ayşe" || time.Since(used) > time.Minute {
		t.Fatalf("token: %+v %v %v", got, used, err)
	}
	// A touch never moves the last use back.
	later := time.Now().Add(time.Hour)
	if err := db.TouchVisitorToken(ctx, a, later); err != nil {
		t.Fatal(err)
	}
	if err := db.TouchVisitorToken(ctx, a, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, used, _ := db.VisitorToken(ctx, a); used.UnixMilli() != later.UnixMilli() {
		t.Fatalf("last use %v, want %v", used, later)
	}
	if err := db.RevokeVisitorToken(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.VisitorToken(ctx, a); chat.ErrorCode(err) != chat.ENotFound {
		t.Fatalf("revoked token: %v", err)
	}
	if _, _, err := db.VisitorToken(ctx, b); err != nil {
		t.Fatalf("the other device's token: %v", err)
	}
	c, _ := db.CreateVisitorToken(ctx, v.ID)
	ids, err := db.RevokeVisitorTokens(ctx, v.ID)
	if err != nil || len(ids) != 2 {
		t.Fatalf("revoke all: %v %v", ids, err)
	}
	for _, id := range []string{b, c} {
		if _, _, err := db.VisitorToken(ctx, id); chat.ErrorCode(err) != chat.ENotFound {
			t.Fatalf("token %s after revoking all: %v", id, err)
		}
	}
}

// A customer the site vouches for is one visitor, however many devices
// ask at once.
func TestIdentifiedVisitor(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := db.IdentifiedVisitor(ctx, "customer-42", "Ayşe", "ayse@example.com")
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = v.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == "" {
			t.Fatalf("devices got visitors %v", ids)
		}
	}
	v, err := db.Visitor(ctx, ids[0])
	if err != nil || v.UserID != "customer-42" || v.Email != "ayse@example.com" {
		t.Fatalf("visitor %+v %v", v, err)
	}
	other, err := db.IdentifiedVisitor(ctx, "customer-43", "", "")
	if err != nil || other.ID == v.ID {
		t.Fatalf("another customer: %+v %v", other, err)
	}
}
