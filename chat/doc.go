// Package chat is the shared domain of chatd: the things a support desk
// talks about (agents, visitors, chats, messages, tickets, the audit trail),
// their states and the legal moves between them, who is acting (Principal),
// the coded Error every client sees, and the checks on what clients send
// (text limits, card masking, NUL refusal). It does no I/O: the packages
// that do (chat/access, chat/live, transcript, store) all speak in its
// types, and it imports none of them.
package chat
