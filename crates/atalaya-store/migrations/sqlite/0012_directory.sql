-- The directory: the newest entry per (record, key) — a team record by team id, a country's
-- cybercrime entry by country, the network-wide registries by `network` — with the id of the
-- signed envelope it came in (the envelope itself is in `envelopes`).
CREATE TABLE directory_entries (
    record      TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    authority   TEXT    NOT NULL,
    created_ms  INTEGER NOT NULL,
    envelope_id TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    PRIMARY KEY (record, key)
) WITHOUT ROWID;

-- Census rounds the coordinator opened; a later version (closing it) replaces the body.
CREATE TABLE census_rounds (
    id         TEXT    PRIMARY KEY,
    opened_ms  INTEGER NOT NULL,
    closed_ms  INTEGER,
    version_ms INTEGER NOT NULL,
    body       TEXT    NOT NULL
);
CREATE INDEX census_rounds_by_time ON census_rounds (opened_ms DESC);

-- The newest response of each team to each round (a team may resubmit while it is open).
CREATE TABLE census_responses (
    round        TEXT    NOT NULL,
    team         TEXT    NOT NULL,
    origin       TEXT    NOT NULL,
    submitted_ms INTEGER NOT NULL,
    envelope_id  TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    PRIMARY KEY (round, team)
) WITHOUT ROWID;
