package live

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
)

// fakeChat is one chat's stored messages and notes, 1..n of each.
type fakeChat struct{ msgs, notes int64 }

// newTestFollower returns a follower of chat "c" whose store holds fc and
// the seqs it sends ("n" marks a note's).
func newTestFollower(t *testing.T, staff bool, fc *fakeChat) (*follower, *[]string) {
	t.Helper()
	var sent []string
	send := func(_ context.Context, b []byte) error {
		f, err := unmarshalFrame(b)
		if err != nil {
			t.Fatalf("sent %q: %v", b, err)
		}
		sent = append(sent, f)
		return nil
	}
	load := func(_ context.Context, chatID, kind string, after int64, limit int) ([]chat.Message, error) {
		n := fc.msgs
		if kind == chat.KindNote {
			n = fc.notes
		}
		var out []chat.Message
		for s := after + 1; s <= n && (limit <= 0 || len(out) < limit); s++ {
			out = append(out, chat.Message{ChatID: chatID, Kind: kind, Seq: s, Text: "x", At: time.Unix(0, 0)})
		}
		return out, nil
	}
	return newFollower(staff, send, load), &sent
}

// unmarshalFrame names a sent message frame by its seq, "n"+seq for notes.
func unmarshalFrame(b []byte) (string, error) {
	var f struct {
		Type string `json:"type"`
		Seq  int64  `json:"seq"`
	}
	if err := jsonUnmarshal(b, &f); err != nil {
		return "", err
	}
	name := itoa(f.Seq)
	if f.Type == TNote {
		name = "n" + name
	}
	return name, nil
}

// live is the envelope of message seq of chat "c", as the hub delivers it.
func live(seq int64) *envelope {
	m := chat.Message{ChatID: "c", Kind: chat.KindMessage, Seq: seq, Text: "x", At: time.Unix(0, 0)}
	return &envelope{Kind: evFrame, Chat: "c", Seq: seq, Frame: encode(newMessageFrame(m))}
}

func liveNote(seq int64) *envelope {
	m := chat.Message{ChatID: "c", Kind: chat.KindNote, Seq: seq, Text: "x", At: time.Unix(0, 0)}
	return &envelope{Kind: evFrame, Chat: "c", Note: seq, Staff: true, Frame: encode(newMessageFrame(m))}
}

func TestFollowerDelivery(t *testing.T) {
	ctx := context.Background()
	note := func(n int64) *int64 { return &n }
	tests := []struct {
		name  string
		staff bool
		store fakeChat
		// The chat is followed from marks{from, from}, paused or not.
		from   int64
		paused bool
		steps  func(f *follower) error
		want   []string
	}{
		{"live messages in order", false, fakeChat{3, 0}, 0, false, func(f *follower) error {
			return errors.Join(f.ordered(ctx, live(1)), f.ordered(ctx, live(2)), f.ordered(ctx, live(3)))
		}, []string{"1", "2", "3"}},
		{"a repeat and an older one are dropped", false, fakeChat{3, 0}, 0, false, func(f *follower) error {
			return errors.Join(f.ordered(ctx, live(1)), f.ordered(ctx, live(2)), f.ordered(ctx, live(2)), f.ordered(ctx, live(1)), f.ordered(ctx, live(3)))
		}, []string{"1", "2", "3"}},
		{"a gap is filled from the store first", false, fakeChat{5, 0}, 1, false, func(f *follower) error {
			return f.ordered(ctx, live(5))
		}, []string{"2", "3", "4", "5"}},
		{"a paused chat holds live messages for the resume", false, fakeChat{5, 0}, 3, true, func(f *follower) error {
			return errors.Join(f.ordered(ctx, live(4)), f.ordered(ctx, live(5)), f.resume(ctx, "c", 1, nil))
		}, []string{"2", "3", "4", "5"}},
		{"the resume window releases what was held", false, fakeChat{5, 0}, 3, true, func(f *follower) error {
			return errors.Join(f.ordered(ctx, live(4)), f.ordered(ctx, live(5)), f.releaseAll(ctx))
		}, []string{"4", "5"}},
		{"a resume after live messages replays only what precedes them", false, fakeChat{5, 0}, 3, false, func(f *follower) error {
			return errors.Join(f.ordered(ctx, live(4)), f.ordered(ctx, live(5)), f.resume(ctx, "c", 1, nil))
		}, []string{"4", "5", "2", "3"}},
		{"a repeated resume replays nothing twice", false, fakeChat{5, 0}, 3, true, func(f *follower) error {
			return errors.Join(f.resume(ctx, "c", 1, nil), f.resume(ctx, "c", 1, nil), f.resume(ctx, "c", 0, nil), f.ordered(ctx, live(5)))
		}, []string{"2", "3", "4", "5", "1"}},
		{"a resume from the end sends nothing", false, fakeChat{3, 0}, 3, true, func(f *follower) error {
			return errors.Join(f.resume(ctx, "c", 3, nil), f.ordered(ctx, live(4)))
		}, []string{"4"}},
		{"catching up after the relay was cut", false, fakeChat{6, 0}, 2, false, func(f *follower) error {
			return errors.Join(f.catchUp(ctx), f.ordered(ctx, live(6)))
		}, []string{"3", "4", "5", "6"}},
		{"a paused chat is left to its resume when catching up", false, fakeChat{6, 0}, 2, true, func(f *follower) error {
			return f.catchUp(ctx)
		}, nil},
		{"staff get notes replayed after after_note", true, fakeChat{2, 3}, 2, true, func(f *follower) error {
			return errors.Join(f.resume(ctx, "c", 2, note(1)), f.ordered(ctx, liveNote(3)), f.ordered(ctx, liveNote(4)))
		}, []string{"n2", "n3", "n4"}},
		{"visitors never get notes replayed", false, fakeChat{2, 3}, 0, true, func(f *follower) error {
			return f.resume(ctx, "c", 0, note(0))
		}, []string{"1", "2"}},
		{"a note gap is filled like a message gap", true, fakeChat{0, 4}, 0, false, func(f *follower) error {
			return f.ordered(ctx, liveNote(3))
		}, []string{"n1", "n2", "n3"}},
		{"frames of chats not followed are ignored", false, fakeChat{2, 0}, 0, false, func(f *follower) error {
			e := live(1)
			e.Chat = "other"
			return f.ordered(ctx, e)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := tt.store
			f, sent := newTestFollower(t, tt.staff, &fc)
			f.follow("c", marks{tt.from, tt.from}, marks{0, 0}, tt.paused)
			if err := tt.steps(f); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(*sent, tt.want) {
				t.Errorf("sent %v, want %v", *sent, tt.want)
			}
		})
	}
}

// TestFollowerHoldsAtMost: a paused chat holds a bounded number of live
// messages; the rest are filled from the store when it is released.
func TestFollowerHoldsAtMost(t *testing.T) {
	ctx := context.Background()
	fc := fakeChat{maxHeld + 10, 0}
	f, sent := newTestFollower(t, false, &fc)
	st := f.follow("c", marks{}, marks{}, true)
	for s := int64(1); s <= fc.msgs; s++ {
		if err := f.ordered(ctx, live(s)); err != nil {
			t.Fatal(err)
		}
	}
	if len(st.held) != maxHeld {
		t.Fatalf("held %d, want %d", len(st.held), maxHeld)
	}
	if err := f.releaseAll(ctx); err != nil {
		t.Fatal(err)
	}
	if len(*sent) != int(fc.msgs) {
		t.Fatalf("sent %d frames, want 1..%d", len(*sent), fc.msgs)
	}
	for i, s := range *sent {
		if s != itoa(int64(i+1)) {
			t.Fatalf("frame %d is seq %s", i, s)
		}
	}
}

// TestFollowerStopsOnWriteError: a failed write ends the delivery with its
// error and the marks do not move past what was written.
func TestFollowerStopsOnWriteError(t *testing.T) {
	ctx := context.Background()
	fc := fakeChat{5, 0}
	f, sent := newTestFollower(t, false, &fc)
	base := f.send
	n := 0
	f.send = func(ctx context.Context, b []byte) error {
		if n++; n == 3 {
			return &writeError{errors.New("peer gone")}
		}
		return base(ctx, b)
	}
	st := f.follow("c", marks{}, marks{}, false)
	var werr *writeError
	if err := f.ordered(ctx, live(5)); !errors.As(err, &werr) {
		t.Fatalf("err %v, want the write error", err)
	}
	if !slices.Equal(*sent, []string{"1", "2"}) || st.msgs.last != 2 {
		t.Fatalf("sent %v, last %d; want 1, 2 and last 2", *sent, st.msgs.last)
	}
}

func TestOutbox(t *testing.T) {
	o := newOutbox(3)
	starts := 0
	start := func() { starts++ }
	for i := range 3 {
		if !o.push(item{raw: []byte{byte(i)}}, start) {
			t.Fatalf("push %d refused", i)
		}
	}
	if starts != 1 {
		t.Fatalf("%d writers started for one burst, want 1", starts)
	}
	if got := o.next(); len(got) != 3 {
		t.Fatalf("next gave %d items, want 3", len(got))
	}
	if got := o.next(); got != nil || o.running {
		t.Fatalf("empty outbox gave %v, running %v", got, o.running)
	}
	o.push(item{raw: []byte{9}}, start)
	if starts != 2 {
		t.Fatalf("a push after the writer stopped started %d writers in all, want 2", starts)
	}
	o.push(item{}, start)
	o.push(item{}, start)
	if o.push(item{}, start) {
		t.Fatal("a fourth waiting item was taken: the outbox holds 3")
	}
	if !o.cut() || o.cut() {
		t.Fatal("the first cut of a full outbox must report it did it, a second must not")
	}
	if !o.push(item{}, start) || o.next() != nil {
		t.Fatal("after the cut, pushes are dropped quietly and nothing is handed out")
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestPlaceWaitsForTheMove: a chat's place in another unit's queue is
// told only after the chat.transferred that moved it there, and a place
// already told is not told again.
func TestPlaceWaitsForTheMove(t *testing.T) {
	ctx := context.Background()
	var sent []string
	f := newFollower(false, func(_ context.Context, b []byte) error { sent = append(sent, string(b)); return nil }, nil)
	f.follow("c", marks{}, marks{}, false).unit = "account"
	steps := []error{
		f.placed(ctx, &place{chatID: "c", unit: "account", position: 2, frame: []byte("queued account 2")}),
		f.placed(ctx, &place{chatID: "c", unit: "general", position: 3, frame: []byte("queued general 3")}),
		f.placed(ctx, &place{chatID: "c", unit: "general", position: 1, frame: []byte("queued general 1")}),
		f.send(ctx, []byte("transferred general")),
		f.moved(ctx, "c", "general"),
		f.placed(ctx, &place{chatID: "c", unit: "general", position: 1, frame: []byte("queued general 1 again")}),
		f.placed(ctx, &place{chatID: "c", unit: "general", position: 2, frame: []byte("queued general 2")}),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	want := []string{"queued account 2", "transferred general", "queued general 1", "queued general 2"}
	if !slices.Equal(sent, want) {
		t.Errorf("sent %q, want %q", sent, want)
	}
}
