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
