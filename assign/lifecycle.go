package assign

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Visitors' presence is counted like agents' sockets: per visitor, open
// sockets per node, so any tab on any node counts. A visitor with an open
// chat and no socket left is gone from that moment (Redis keeps when); a
// node that stops its heartbeats (NodeHeartbeat) for longer than
// HeartbeatTTL has its sockets dropped by Lifecycle, as if each had closed
// at its last heartbeat.

// Presence is whether a visitor is connected, and since when they are gone.
type Presence struct {
	Online bool
	LeftAt time.Time // zero while online, or when not known
}

// VisitorChange is a visitor with an open chat coming or going: ChatID is
// empty when nothing changed that anyone must hear of.
type VisitorChange struct {
	ChatID string
	At     time.Time // when the visitor left (coming back: when they had left)
}

// VisitorConnected records that one of the visitor's sockets opened on
// node. The change names the open chat when the visitor had been gone.
func (r *Redis) VisitorConnected(ctx context.Context, visitorID, node string) (VisitorChange, error) {
	k := r.keys
	v, err := r.run(ctx, vconnectScript, []string{k.visitorSockets(visitorID), k.nodes(), k.nodeVisitors(node)}, visitorID, node)
	if err != nil {
		return VisitorChange{}, fmt.Errorf("assign: visitor %s connected: %w", visitorID, err)
	}
	return visitorChange(v)
}

// VisitorDisconnected records that one of the visitor's sockets on node
// closed. The change names the open chat when it was the visitor's last
// socket anywhere.
func (r *Redis) VisitorDisconnected(ctx context.Context, visitorID, node string) (VisitorChange, error) {
	k := r.keys
	v, err := r.run(ctx, vdisconnScript, []string{k.visitorSockets(visitorID), k.nodeVisitors(node)}, visitorID, node)
	if err != nil {
		return VisitorChange{}, fmt.Errorf("assign: visitor %s disconnected: %w", visitorID, err)
	}
	return visitorChange(v)
}

func visitorChange(v []string) (VisitorChange, error) {
	if len(v) != 3 || v[0] != "ok" {
		return VisitorChange{}, fmt.Errorf("assign: malformed presence reply %q", v)
	}
	if v[1] == "" {
		return VisitorChange{}, nil
	}
	ms, err := strconv.ParseInt(v[2], 10, 64)
	if err != nil {
		return VisitorChange{}, fmt.Errorf("assign: presence reply: %w", err)
	}
	return VisitorChange{ChatID: v[1], At: time.UnixMilli(ms).UTC()}, nil
}

// NodeHeartbeat keeps node's visitor sockets counted. sockets (visitor ->
// open sockets on node) is read only when the node had been taken for dead
// (its heartbeats stopped for longer than HeartbeatTTL): then the node
// restates them.
func (r *Redis) NodeHeartbeat(ctx context.Context, node string, sockets func() map[string]int) error {
	v, err := r.run(ctx, vnodeScript, []string{r.keys.nodes()}, node)
	if err != nil {
		return fmt.Errorf("assign: node heartbeat: %w", err)
	}
	if len(v) == 2 && v[1] == "1" {
		return nil
	}
	args := []any{node}
	for id, n := range sockets() {
		if n > 0 {
			args = append(args, id, n)
		}
	}
	if len(args) == 1 {
		return nil
	}
	// The node is known again after the first call: remove it so the
	// script restates the sockets.
	if err := r.rdb.ZRem(ctx, r.keys.nodes(), node).Err(); err != nil {
		return fmt.Errorf("assign: node heartbeat: %w", err)
	}
	if _, err := r.run(ctx, vnodeScript, []string{r.keys.nodes()}, args...); err != nil {
		return fmt.Errorf("assign: node heartbeat: %w", err)
	}
	return nil
}

// Visitors reports the presence of each visitor, in order.
func (r *Redis) Visitors(ctx context.Context, visitorIDs ...string) ([]Presence, error) {
	if len(visitorIDs) == 0 {
		return nil, nil
	}
	args := make([]any, len(visitorIDs))
	for i, id := range visitorIDs {
		args[i] = id
	}
	v, err := r.run(ctx, visitorsScript, nil, args...)
	if err != nil {
		return nil, fmt.Errorf("assign: visitors: %w", err)
	}
	if len(v) != 2*len(visitorIDs) {
		return nil, fmt.Errorf("assign: visitors: %d fields for %d visitors", len(v), len(visitorIDs))
	}
	out := make([]Presence, len(visitorIDs))
	for i := range out {
		out[i].Online = v[2*i] == "1"
		if ms, err := strconv.ParseInt(v[2*i+1], 10, 64); err == nil && ms > 0 {
			out[i].LeftAt = time.UnixMilli(ms).UTC()
		}
	}
	return out, nil
}

// Limits are the lifecycle's time limits; zero turns one off.
type Limits struct {
	// VisitorTimeout: a waiting chat whose visitor has been gone this long
	// leaves the queue.
	VisitorTimeout time.Duration
	// IdleClose: an active chat whose visitor has been gone this long
	// closes (unless a message of theirs is unanswered).
	IdleClose time.Duration
	// FirstResponse: an assigned chat without an answer this long moves
	// to another agent.
	FirstResponse time.Duration
	// Recheck is how long a chat reported is not reported again, default 5s.
	Recheck time.Duration
}

// Lifecycle events.
const (
	EventOffline    = "offline"     // a visitor's sockets were on a node that died
	EventQueuedLeft = "queued_left" // a waiting chat's visitor is gone past VisitorTimeout
	EventIdle       = "idle"        // an active chat's visitor is gone past IdleClose
	EventUnanswered = "unanswered"  // an assigned chat has had no answer for FirstResponse
)

// Event is something Lifecycle found due. ID is the visitor (offline,
// queued_left, idle) or the agent (unanswered); At is when the visitor
// left, or when the chat was assigned.
type Event struct {
	Kind, ChatID, ID string
	At               time.Time
}

// lifecycleBatch bounds the events one Lifecycle call reports of each kind.
const lifecycleBatch = 200

// Lifecycle reports what is due: visitors lost with a dead node, chats
// whose visitor left past a limit, chats left unanswered. Each chat is
// reported once per Recheck, so every node may call it every second; the
// caller decides and acts (it can see what Redis cannot: the messages).
func (r *Redis) Lifecycle(ctx context.Context, l Limits) ([]Event, error) {
	if l.Recheck <= 0 {
		l.Recheck = 5 * time.Second
	}
	k := r.keys
	v, err := r.run(ctx, lifecycleScript, []string{k.nodes(), k.visitorsGone(), k.unanswered()},
		l.VisitorTimeout.Milliseconds(), l.IdleClose.Milliseconds(), l.FirstResponse.Milliseconds(), l.Recheck.Milliseconds(), lifecycleBatch)
	if err != nil {
		return nil, fmt.Errorf("assign: lifecycle: %w", err)
	}
	if len(v)%4 != 0 {
		return nil, fmt.Errorf("assign: lifecycle: reply has %d fields, want groups of 4", len(v))
	}
	var out []Event
	for ; len(v) > 0; v = v[4:] {
		ms, err := strconv.ParseInt(v[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("assign: lifecycle: %w", err)
		}
		out = append(out, Event{Kind: v[0], ChatID: v[1], ID: v[2], At: time.UnixMilli(ms).UTC()})
	}
	return out, nil
}

// Answered stops the first-response clock of chats whose agent answered.
func (r *Redis) Answered(ctx context.Context, chatIDs ...string) error {
	if len(chatIDs) == 0 {
		return nil
	}
	args := make([]any, len(chatIDs))
	for i, id := range chatIDs {
		args[i] = id
	}
	if _, err := r.run(ctx, answeredScript, []string{r.keys.unanswered()}, args...); err != nil {
		return fmt.Errorf("assign: answered: %w", err)
	}
	return nil
}

// NoResponse takes a chat from the agent who left it unanswered since
// assignedAt back to the head of its queue; that agent may not take it
// again while another agent of the unit is online. The queues are drained:
// the chat's own assignment is Requeued with Reason ReasonNoResponse and
// From the agent. A chat that moved since gives ErrNotFound.
func (r *Redis) NoResponse(ctx context.Context, chatID, agentID string, assignedAt time.Time) ([]Assignment, error) {
	out, err := r.mutate(ctx, noResponseScript, []string{r.keys.chat(chatID)}, chatID, agentID, strconv.FormatInt(assignedAt.UnixMilli(), 10))
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("assign: no response in %s: %w", chatID, err)
	}
	if err != nil {
		return nil, fmt.Errorf("assign: no response in %s: %w", chatID, err)
	}
	return out, nil
}
