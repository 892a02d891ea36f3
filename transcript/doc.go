// Package transcript owns what a chat leaves behind and the written channel
// it can continue in: the transcript of a chat, and escalation, which
// closes a live chat into a ticket holding that transcript in one
// transaction. It also serves the customer's rights over these records:
// their export and their erasure (live chat frees what it holds of the
// customer through the VisitorLive interface). It authorizes through chat/access and imports nothing that
// knows about sockets; live chat reaches it through a small interface.
package transcript
