-- The audit trail: who did what with customer data, when and from where
-- (every staff request that changes or reveals it, logins and failed
-- logins). Rows are only ever added: no API changes or deletes them.
CREATE TABLE audit_log (
    id       BIGSERIAL PRIMARY KEY,
    at       BIGINT NOT NULL,
    staff    TEXT NOT NULL,
    staff_id BIGINT,
    source   TEXT NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    outcome  INTEGER NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (at);
