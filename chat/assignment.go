package chat

import "time"

// Assignment record kinds: what happened to a chat's placement.
const (
	RecordAssigned    = "assigned"    // given to an agent by the assigner
	RecordRequeued    = "requeued"    // back to its queue (agent gone, unanswered, transferred to a unit)
	RecordTransferred = "transferred" // moved by staff to another unit or a named agent
)

// AssignmentRecord says why a chat went where it went: one assignment,
// requeue or transfer, with the candidates the assigner weighed at that
// instant. Supervisors read a chat's records to see that nothing was
// decided by hand.
type AssignmentRecord struct {
	ID          string      `json:"id"`
	ChatID      string      `json:"chat_id"`
	At          time.Time   `json:"at"`
	Kind        string      `json:"kind"`
	Unit        string      `json:"unit"`
	AgentID     string      `json:"agent_id,omitempty"`      // who has the chat now ("" waiting)
	FromAgentID string      `json:"from_agent_id,omitempty"` // who had it before
	Rule        string      `json:"rule"`                    // why: lowest_load, named_agent, agent_unavailable, no_response, transfer, ...
	WaitedMS    int64       `json:"waited_ms"`               // how long the chat had waited in its queue
	Candidates  []Candidate `json:"candidates"`
	ByKind      string      `json:"by_kind,omitempty"` // the principal who asked (transfers), empty for the assigner
	ByID        string      `json:"by_id,omitempty"`
}

// Candidate is one agent the assigner considered.
type Candidate struct {
	AgentID string `json:"agent_id"`
	Load    int    `json:"load"`
	Max     int    `json:"max"`
	// FreeSince is the later of the agent's last assignment and the moment
	// it came online: ties of load go to the agent free the longest.
	FreeSince *time.Time `json:"free_since,omitempty"`
	Chosen    bool       `json:"chosen,omitempty"`
	Excluded  bool       `json:"excluded,omitempty"` // left this chat unanswered before
}
