// Package store owns what must last: agents, visitors, chats, messages,
// tickets, API keys, webhooks and the audit trail, in SQLite (the embedded
// default) or PostgreSQL, through one set of sqlx queries and one schema.
// It also opens Redis, real or embedded, for the live state kept by other
// packages. It never imports the web framework.
package store
