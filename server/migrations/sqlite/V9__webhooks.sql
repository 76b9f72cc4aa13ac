-- Webhooks: a site's endpoints, and the deliveries of events to them (an
-- outbox, like email's: retried with backoff, claimed by one server).
CREATE TABLE webhook_endpoints (
    id         INTEGER PRIMARY KEY,
    site       TEXT NOT NULL,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    -- the events it wants, separated by spaces
    events     TEXT NOT NULL,
    -- 'json' (signed Stufe payload) or 'slack' (an incoming-webhook message)
    format     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_by_site ON webhook_endpoints (site);

CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY,
    endpoint_id  INTEGER NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event        TEXT NOT NULL,
    ticket_id    TEXT,
    payload      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    -- due at (ms); NULL once delivered or given up
    next_at      INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0,
    delivered_at INTEGER,
    last_status  INTEGER,
    last_error   TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE next_at IS NOT NULL;
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_by_ticket ON webhook_deliveries (ticket_id);
