-- A customer's other requests (console ticket page) are found by their email
-- when they were not signed in.
CREATE INDEX tickets_by_email ON tickets (site, email, created_at);
