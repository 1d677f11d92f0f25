-- Communication checks this node started: the check as sent, and one row per target with its
-- answer. Delivery is not copied here: it is the outbox row of the check's envelope (its id is
-- the check's id) for that target, set when a push was accepted or the target pulled it.
CREATE TABLE comm_checks (
    id           TEXT    PRIMARY KEY,
    started_ms   INTEGER NOT NULL,
    answer_by_ms INTEGER NOT NULL,
    message      TEXT,
    started_by   TEXT    NOT NULL
);
CREATE INDEX comm_checks_by_time ON comm_checks (started_ms DESC, id DESC);

CREATE TABLE comm_check_targets (
    check_id        TEXT    NOT NULL REFERENCES comm_checks (id),
    node            TEXT    NOT NULL,
    answered_ms     INTEGER,
    answered_by     TEXT,
    note            TEXT,
    answer_envelope TEXT,
    PRIMARY KEY (check_id, node)
) WITHOUT ROWID;

-- Checks this node received: pending until a person here answers (once).
CREATE TABLE received_checks (
    id              TEXT    PRIMARY KEY,
    origin          TEXT    NOT NULL,
    started_ms      INTEGER NOT NULL,
    answer_by_ms    INTEGER NOT NULL,
    message         TEXT,
    received_ms     INTEGER NOT NULL,
    answered_ms     INTEGER,
    answered_by     TEXT,
    note            TEXT,
    answer_envelope TEXT
);
CREATE INDEX received_checks_pending ON received_checks (received_ms) WHERE answered_ms IS NULL;
