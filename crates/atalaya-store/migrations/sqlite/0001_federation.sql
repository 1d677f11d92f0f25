-- The local log: every envelope this node holds, in the order it got here. `cursor` is the
-- position peers pull from; AUTOINCREMENT guarantees it only grows, even after deletes elsewhere.
CREATE TABLE envelopes (
    cursor      INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    origin      TEXT    NOT NULL,
    created_ms  INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    tlp         TEXT    NOT NULL,
    audience    TEXT    NOT NULL,  -- JSON, as in the envelope
    raw         TEXT    NOT NULL   -- the envelope exactly as signed, relayed byte for byte
);
CREATE INDEX envelopes_by_origin ON envelopes (origin, cursor);

-- Append-only: a signed envelope is never changed or dropped.
CREATE TRIGGER envelopes_no_update BEFORE UPDATE ON envelopes
BEGIN SELECT RAISE(ABORT, 'the envelope log is append-only'); END;
CREATE TRIGGER envelopes_no_delete BEFORE DELETE ON envelopes
BEGIN SELECT RAISE(ABORT, 'the envelope log is append-only'); END;

-- Bulletins, as this node shows them (decoded from their envelopes).
CREATE TABLE bulletins (
    id          TEXT    PRIMARY KEY,
    origin      TEXT    NOT NULL,
    created_ms  INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    severity    TEXT    NOT NULL,
    tlp         TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    supersedes  TEXT,
    json        TEXT    NOT NULL
);
CREATE INDEX bulletins_by_time ON bulletins (created_ms DESC, id);

-- One row per (peer, envelope) to deliver. A row is never dropped before the peer accepted it.
CREATE TABLE outbox (
    peer         TEXT    NOT NULL,
    cursor       INTEGER NOT NULL REFERENCES envelopes (cursor),
    enqueued_ms  INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    delivered_ms INTEGER,
    last_error   TEXT,
    PRIMARY KEY (peer, cursor)
) WITHOUT ROWID;
CREATE INDEX outbox_pending ON outbox (peer, cursor) WHERE delivered_ms IS NULL;
CREATE INDEX outbox_by_envelope ON outbox (cursor);

-- Per-peer health as seen from here.
CREATE TABLE peers (
    peer                 TEXT PRIMARY KEY,
    last_success_ms      INTEGER,
    last_failure_ms      INTEGER,
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0
);

-- Where we are in each peer's log: `origin` = the peer itself for direct pulls, or another
-- origin when this peer relays that origin's envelopes to us.
CREATE TABLE pull_cursors (
    peer       TEXT    NOT NULL,
    origin     TEXT    NOT NULL,
    cursor     INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (peer, origin)
) WITHOUT ROWID;

-- Roster versions this node accepted (raw = the coordinator-signed envelope).
CREATE TABLE rosters (
    version      INTEGER PRIMARY KEY,
    raw          TEXT    NOT NULL,
    installed_ms INTEGER NOT NULL
);

-- API tokens: only a SHA-256 of the token is kept.
CREATE TABLE api_tokens (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    hash       TEXT    NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER
);

-- Nonces of signed federation requests seen inside the replay window.
CREATE TABLE seen_nonces (
    key_ref    TEXT    NOT NULL,
    nonce      TEXT    NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (key_ref, nonce)
) WITHOUT ROWID;
CREATE INDEX seen_nonces_expiry ON seen_nonces (expires_ms);
