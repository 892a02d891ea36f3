package live

import (
	"context"
	"strconv"

	"github.com/chatd/chatd/chat"
)

// marks are what a connection has sent of one kind (messages or notes) of
// a chat: every seq in (base, last].
type marks struct{ base, last int64 }

// sentNothing reports whether nothing live has been sent beyond base.
func (m marks) sentNothing() bool { return m.base >= m.last }

// chatState is what a connection has delivered of one chat.
type chatState struct {
	msgs, notes marks
	announced   string // the assignment last announced in chat.assigned
	// unit is the chat's unit as this connection last told it; a place in
	// another unit's queue waits (in place) for the chat.transferred that
	// moves it there, so a client never sees the place before the move.
	unit  string
	place *place
	// told is the place in a queue last told in chat.queued ("" once the
	// chat was assigned or moved): an unchanged place is not told again.
	told string
	// A chat followed since the connection opened holds its live messages
	// until the client's resume (or the resume window) so the replay and
	// the live stream arrive in order and once.
	paused   bool
	held     []*envelope
	overflow bool // more arrived while paused than held: read the rest back on release
}

func (st *chatState) marks(kind string) *marks {
	if kind == chat.KindNote {
		return &st.notes
	}
	return &st.msgs
}

// maxHeld bounds what a paused chat holds; beyond it the gap is filled from
// the store when the chat is released.
const maxHeld = 4096

// follower keeps what a connection has delivered of the chats it follows
// and delivers more by one rule: every seq of a chat once, in order. Older
// ones are dropped; a gap (frames from two nodes can cross in Redis) is
// filled from the store first. Only the connection's writer uses it.
type follower struct {
	chats map[string]*chatState
	staff bool // notes are delivered and replayed
	// send writes one frame to the client.
	send func(ctx context.Context, frame []byte) error
	// load reads a chat's stored items of kind after a seq, in order, at
	// most limit of them.
	load func(ctx context.Context, chatID, kind string, after int64, limit int) ([]chat.Message, error)
}

func newFollower(staff bool, send func(context.Context, []byte) error,
	load func(context.Context, string, string, int64, int) ([]chat.Message, error)) *follower {
	return &follower{chats: map[string]*chatState{}, staff: staff, send: send, load: load}
}

// follow starts following a chat from the given marks (or returns the
// state it has).
func (f *follower) follow(chatID string, msgs, notes marks, paused bool) *chatState {
	if st := f.chats[chatID]; st != nil {
		return st
	}
	st := &chatState{msgs: msgs, notes: notes, paused: paused}
	f.chats[chatID] = st
	return st
}

func (f *follower) forget(chatID string) { delete(f.chats, chatID) }

// place is a waiting chat's place in its unit's queue, as chat.queued
// tells it.
type place struct {
	chatID, unit string
	position     int
	frame        []byte
}

func (p *place) key() string { return p.unit + "#" + strconv.Itoa(p.position) }

// placed delivers a chat's place in a queue, unless it is in a unit the
// connection has not yet told the chat moved to (then it waits for that),
// or it is the place this connection told last (then it is not news).
func (f *follower) placed(ctx context.Context, p *place) error {
	st := f.chats[p.chatID]
	if st != nil && st.unit != "" && st.unit != p.unit {
		st.place = p
		return nil
	}
	return f.tell(ctx, st, p)
}

// tell sends a place unless the connection told that one last.
func (f *follower) tell(ctx context.Context, st *chatState, p *place) error {
	if st != nil {
		if st.told == p.key() {
			return nil
		}
		st.told = p.key()
	}
	return f.send(ctx, p.frame)
}

// unplaced records that the connection told a chat left its place (it was
// assigned or moved): its next place is news whatever it is.
func (f *follower) unplaced(chatID string) {
	if st := f.chats[chatID]; st != nil {
		st.told = ""
	}
}

// moved records that the connection told a chat's unit (chat.transferred)
// and delivers the place that was waiting for it.
func (f *follower) moved(ctx context.Context, chatID, unit string) error {
	st := f.chats[chatID]
	if st == nil {
		return nil
	}
	st.unit, st.told = unit, ""
	if p := st.place; p != nil && p.unit == unit {
		st.place = nil
		return f.tell(ctx, st, p)
	}
	return nil
}

// ordered delivers a live message or note.
func (f *follower) ordered(ctx context.Context, e *envelope) error {
	st := f.chats[e.Chat]
	if st == nil {
		return nil
	}
	if st.paused {
		if len(st.held) < maxHeld {
			st.held = append(st.held, e)
		} else {
			st.overflow = true
		}
		return nil
	}
	kind, seq := chat.KindMessage, e.Seq
	if e.Note > 0 {
		kind, seq = chat.KindNote, e.Note
	}
	m := st.marks(kind)
	if seq <= m.last {
		return nil
	}
	if seq > m.last+1 {
		if err := f.sendStored(ctx, e.Chat, kind, &m.last, seq-1); err != nil {
			return err
		}
	}
	if err := f.send(ctx, e.Frame); err != nil {
		return err
	}
	m.last = seq
	return nil
}

// resume sends what the client lacks of a followed chat: the messages
// after afterSeq (and, for staff who give afterNote, the notes after it)
// that this connection has not sent yet, in order. A resume that comes
// after live messages flowed gets only what precedes them, never a second
// copy; a paused chat starts where the client stands and is released.
func (f *follower) resume(ctx context.Context, chatID string, afterSeq int64, afterNote *int64) error {
	st := f.chats[chatID]
	if st == nil {
		return nil
	}
	if st.paused { // nothing live sent yet: start where the client stands
		st.msgs = marks{afterSeq, afterSeq}
		if afterNote != nil {
			st.notes = marks{*afterNote, *afterNote}
		}
	}
	if err := f.replay(ctx, chatID, chat.KindMessage, afterSeq, &st.msgs); err != nil {
		return err
	}
	if f.staff && afterNote != nil {
		if err := f.replay(ctx, chatID, chat.KindNote, *afterNote, &st.notes); err != nil {
			return err
		}
	}
	if st.paused {
		return f.release(ctx, chatID, st)
	}
	return nil
}

// replay sends one kind's items in (after, base], or everything after
// `after` when nothing live was sent yet, and moves the marks.
func (f *follower) replay(ctx context.Context, chatID, kind string, after int64, m *marks) error {
	if after >= m.base && !m.sentNothing() {
		return nil // the client has everything this connection sent
	}
	if m.sentNothing() { // replay to the end
		m.last = after
		if err := f.sendStored(ctx, chatID, kind, &m.last, -1); err != nil {
			return err
		}
	} else {
		from := after // sendStored moves it along
		if err := f.sendStored(ctx, chatID, kind, &from, m.base); err != nil {
			return err
		}
	}
	m.base = min(m.base, after)
	return nil
}

// release ends a chat's pause and delivers what it held, and what it could
// not hold from the store.
func (f *follower) release(ctx context.Context, chatID string, st *chatState) error {
	st.paused = false
	held, overflow := st.held, st.overflow
	st.held, st.overflow = nil, false
	for _, e := range held {
		if err := f.ordered(ctx, e); err != nil {
			return err
		}
	}
	if !overflow {
		return nil
	}
	if err := f.sendStored(ctx, chatID, chat.KindMessage, &st.msgs.last, -1); err != nil {
		return err
	}
	if f.staff {
		return f.sendStored(ctx, chatID, chat.KindNote, &st.notes.last, -1)
	}
	return nil
}

// releaseAll ends every pause: the resume window passed.
func (f *follower) releaseAll(ctx context.Context) error {
	for id, st := range f.chats {
		if st.paused {
			if err := f.release(ctx, id, st); err != nil {
				return err
			}
		}
	}
	return nil
}

// catchUp sends every followed chat's items stored after the last one this
// connection sent: after the relay between nodes was cut, nothing
// published meanwhile arrived.
func (f *follower) catchUp(ctx context.Context) error {
	for id, st := range f.chats {
		if st.paused { // its resume, or the window's end, covers it
			continue
		}
		if err := f.sendStored(ctx, id, chat.KindMessage, &st.msgs.last, -1); err != nil {
			return err
		}
		if f.staff {
			if err := f.sendStored(ctx, id, chat.KindNote, &st.notes.last, -1); err != nil {
				return err
			}
		}
	}
	return nil
}

// sendStored writes the chat's stored items of kind with seq in
// (*from, upTo] (upTo < 0: all), in order, moving *from along.
func (f *follower) sendStored(ctx context.Context, chatID, kind string, from *int64, upTo int64) error {
	for {
		limit := 500
		if upTo >= 0 {
			limit = int(min(upTo-*from, 500))
		}
		if limit <= 0 {
			return nil
		}
		msgs, err := f.load(ctx, chatID, kind, *from, limit)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if err := f.send(ctx, encode(newMessageFrame(m))); err != nil {
				return err
			}
			*from = m.Seq
		}
		if len(msgs) < limit {
			return nil
		}
	}
}
