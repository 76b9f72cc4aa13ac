-- Automation rules: a site's rules (JSON, see desk::automation), whom the
-- round robin gave a new request to last per tier, what a rule did to a
-- request already (so it does it once, on one server), and when each
-- request is due to be resolved (NULL until the ticket is next written).
ALTER TABLE tickets ADD COLUMN resolution_due BIGINT;

CREATE TABLE automation_rules (
    site       TEXT PRIMARY KEY,
    rules      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE round_robin (
    site     TEXT NOT NULL,
    tier     INTEGER NOT NULL,
    staff_id BIGINT NOT NULL,
    PRIMARY KEY (site, tier)
);

CREATE TABLE automation_marks (
    ticket_id TEXT NOT NULL,
    mark      TEXT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, mark)
);
