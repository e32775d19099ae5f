//! What is stored, and what an attacker can make the locker store or forget: a sync token
//! acknowledging ahead of push, a copy of the database or of a backup, floods of unknown
//! courier names and of incident reports, and a rewritten audit log. One file per hole, in
//! `store/` (a `#[path]` module resolves its children beside itself, hence the attributes).

#[path = "store/audit_head.rs"]
mod audit_head;
#[path = "store/bounds.rs"]
mod bounds;
#[path = "store/push_cursor.rs"]
mod push_cursor;
#[path = "store/secrets_at_rest.rs"]
mod secrets_at_rest;
