package assign

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Presence statuses an agent can choose.
const (
	StatusOnline  = "online"
	StatusAway    = "away"
	StatusOffline = "offline"
)

// AgentLoad is an agent as consoles show it. Status is "offline" for an
// agent whose heartbeat lapsed or whose last socket closed, whatever it chose.
type AgentLoad struct {
	ID, Name, Status string
	Load, Max        int
	Online           bool
}

// SetPresence records the agent (units, capacity, name) and its status,
// refreshes its heartbeat, and clears a pending disconnect. It then drains
// the queues of the agent's units and returns the assignments made.
func (r *Redis) SetPresence(ctx context.Context, a Agent, status string) ([]Assignment, error) {
	switch {
	case a.ID == "":
		return nil, errors.New("assign: set presence: empty agent id")
	case status != StatusOnline && status != StatusAway && status != StatusOffline:
		return nil, fmt.Errorf("assign: set presence of %s: unknown status %q", a.ID, status)
	case a.MaxChats < 0:
		return nil, fmt.Errorf("assign: set presence of %s: negative max chats %d", a.ID, a.MaxChats)
	}
	args := []any{a.ID, a.Name, status, a.MaxChats}
	for _, u := range dedupe(a.Units) {
		args = append(args, u)
	}
	k := r.keys
	out, err := r.mutate(ctx, presenceScript,
		[]string{k.agent(a.ID), k.agentUnits(a.ID), k.heartbeats(), k.disconnects(), k.units()}, args...)
	if err != nil {
		return nil, fmt.Errorf("assign: set presence of %s: %w", a.ID, err)
	}
	return out, nil
}

// Heartbeat refreshes the liveness of connected agents and clears their
// pending disconnects. Unknown agents are ignored. An agent whose
// connection had lapsed past the grace comes online now (free since now).
// It assigns nothing: an agent whose heartbeat had lapsed gets chats again
// at the next drain, at the latest on the next Sweep.
func (r *Redis) Heartbeat(ctx context.Context, agentIDs ...string) error {
	if len(agentIDs) == 0 {
		return nil
	}
	args := make([]any, len(agentIDs))
	for i, id := range agentIDs {
		args[i] = id
	}
	if _, err := r.run(ctx, heartbeatScript, []string{r.keys.heartbeats(), r.keys.disconnects()}, args...); err != nil {
		return fmt.Errorf("assign: heartbeat: %w", err)
	}
	return nil
}

// Connected records that one of the agent's sockets opened on node (any
// string naming this process). It counts as a heartbeat and ends a pending
// disconnect. The agent's status is its own, not the socket's: an agent
// whose status is online is online again, and when its connection had
// lapsed past the grace it comes online now (free since now). It then
// drains the queues of the agent's units and returns the assignments made.
func (r *Redis) Connected(ctx context.Context, agentID, node string) ([]Assignment, error) {
	k := r.keys
	out, err := r.mutate(ctx, connectScript, []string{k.heartbeats(), k.disconnects(), k.sockets(agentID)}, agentID, node)
	if err != nil {
		return nil, fmt.Errorf("assign: connected %s: %w", agentID, err)
	}
	return out, nil
}

// Disconnected records that one of the agent's sockets on node closed.
// When no node holds a socket of the agent any more, it gets no new chats
// and keeps its chats for Config.Grace; Connected, SetPresence or
// Heartbeat within that time keeps them for good. An unknown agent is
// ignored.
func (r *Redis) Disconnected(ctx context.Context, agentID, node string) error {
	if _, err := r.run(ctx, disconnectScript, []string{r.keys.agent(agentID), r.keys.disconnects(), r.keys.sockets(agentID)}, agentID, node); err != nil {
		return fmt.Errorf("assign: disconnected %s: %w", agentID, err)
	}
	return nil
}

// Update changes a known agent's name, capacity and units, leaving its
// status and liveness alone, and drains its units (a raise or a new unit
// takes waiting chats at once). Chats it already has stay with it. An agent
// the assigner has never seen gives ErrNotFound: it is registered when it
// first comes online.
func (r *Redis) Update(ctx context.Context, a Agent) ([]Assignment, error) {
	if a.MaxChats < 0 {
		return nil, fmt.Errorf("assign: update %s: negative max chats %d", a.ID, a.MaxChats)
	}
	args := []any{a.ID, a.Name, a.MaxChats}
	for _, u := range dedupe(a.Units) {
		args = append(args, u)
	}
	k := r.keys
	out, err := r.mutate(ctx, updateScript, []string{k.agent(a.ID), k.agentUnits(a.ID), k.units()}, args...)
	if err != nil {
		return nil, fmt.Errorf("assign: update %s: %w", a.ID, err)
	}
	return out, nil
}

// Agents lists the agents serving unit, ordered by id.
func (r *Redis) Agents(ctx context.Context, unit string) ([]AgentLoad, error) {
	v, err := r.run(ctx, agentsScript, []string{r.keys.unitAgents(unit)})
	if err != nil {
		return nil, fmt.Errorf("assign: agents of %s: %w", unit, err)
	}
	if len(v)%6 != 0 {
		return nil, fmt.Errorf("assign: agents of %s: reply has %d fields, want groups of 6", unit, len(v))
	}
	var out []AgentLoad
	for ; len(v) > 0; v = v[6:] {
		a := AgentLoad{ID: v[0], Name: v[1], Status: v[2], Online: v[5] == "1"}
		if a.Load, err = atoi(v[3]); err != nil {
			return nil, fmt.Errorf("assign: agents of %s: %w", unit, err)
		}
		if a.Max, err = atoi(v[4]); err != nil {
			return nil, fmt.Errorf("assign: agents of %s: %w", unit, err)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b AgentLoad) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Available counts the online agents serving unit, full or not. Zero means
// nobody can answer a chat, so the visitor should get the offline form.
func (r *Redis) Available(ctx context.Context, unit string) (int, error) {
	agents, err := r.Agents(ctx, unit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range agents {
		if a.Online {
			n++
		}
	}
	return n, nil
}

func dedupe(units []string) []string {
	var out []string
	for _, u := range units {
		if u != "" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}
