package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store/storetest"
)

// BenchmarkAppendBatch measures one group commit of n messages over n chats.
func BenchmarkAppendBatch(b *testing.B) {
	for _, n := range []int{1, 16, 128} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ctx := context.Background()
			db := storetest.DB(b)
			type target struct{ visitor, chat string }
			targets := make([]target, n)
			for i := range targets {
				v := &chat.Visitor{}
				if err := db.CreateVisitor(ctx, v); err != nil {
					b.Fatal(err)
				}
				c, _, err := db.StartChat(ctx, chat.StartRequest{Who: chat.Principal{VisitorID: v.ID}, ClientID: "start", Visitor: v, Unit: "general", Text: "hi"})
				if err != nil {
					b.Fatal(err)
				}
				targets[i] = target{v.ID, c.ID}
			}
			reqs := make([]chat.AppendRequest, n)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				for j, t := range targets {
					reqs[j] = chat.AppendRequest{Who: chat.Principal{VisitorID: t.visitor}, ClientID: fmt.Sprint(i, "-", j), ChatID: t.chat, Kind: chat.KindMessage,
						From: chat.Sender{Kind: chat.FromVisitor, ID: t.visitor}, Text: "a typical short chat message"}
				}
				for _, r := range db.AppendBatch(ctx, reqs) {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
				i++
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkOpenTickets lists the first page (50) of one unit's open
// tickets, oldest first, among 100,000 tickets of four units in every
// status; a later page by cursor; the queue of an agent of two units; and
// every unit's (an admin's).
func BenchmarkOpenTickets(b *testing.B) {
	ctx := context.Background()
	db := storetest.DB(b)
	units := chat.DefaultUnits
	statuses := []string{chat.TicketOpen, chat.TicketClosed, chat.TicketPending, chat.TicketClosed, chat.TicketSolved, chat.TicketClosed, chat.TicketOpen, chat.TicketClosed}
	if err := db.SeedTickets(ctx, 100_000, func(i int) (string, string) { return units[i%len(units)], statuses[(i/len(units))%len(statuses)] }); err != nil {
		b.Fatal(err)
	}
	first, next, err := db.Tickets(ctx, chat.TicketFilter{Units: []string{"general"}, Status: chat.TicketOpen, Limit: 50})
	if err != nil || len(first) != 50 || next == "" {
		b.Fatalf("first page: %d tickets, next %q, %v", len(first), next, err)
	}
	for _, bb := range []struct {
		name   string
		units  []string
		cursor string
	}{{"first-page", []string{"general"}, ""}, {"later-page", []string{"general"}, next}, {"two-units", []string{"general", "account"}, ""}, {"every-unit", nil, ""}} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				items, _, err := db.Tickets(ctx, chat.TicketFilter{Units: bb.units, Status: chat.TicketOpen, Limit: 50, Cursor: bb.cursor})
				if err != nil || len(items) != 50 {
					b.Fatalf("%d tickets, %v", len(items), err)
				}
			}
		})
	}
}
