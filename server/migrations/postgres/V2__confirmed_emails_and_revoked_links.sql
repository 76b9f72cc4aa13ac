-- The email address of a ticket its customer confirmed (the link in the
-- confirmation email, or signed in with that address): replies are mailed
-- only to a confirmed address.
CREATE TABLE email_confirmations (
    ticket_id    TEXT PRIMARY KEY,
    email        TEXT NOT NULL,
    confirmed_at BIGINT NOT NULL
);
-- Links from emails to a ticket issued at or before revoked_at (seconds)
-- open nothing.
CREATE TABLE link_revocations (
    ticket_id  TEXT PRIMARY KEY,
    revoked_at BIGINT NOT NULL
);
-- Crash reports are pruned by age.
CREATE INDEX client_errors_by_age ON client_errors (at);
