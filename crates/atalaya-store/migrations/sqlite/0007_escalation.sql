-- This node's on-call roster (one row, JSON) and the escalations it made.
CREATE TABLE oncall (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    json       TEXT    NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE escalations (
    bulletin TEXT    NOT NULL,
    level    INTEGER NOT NULL,
    target   TEXT    NOT NULL,
    channel  TEXT    NOT NULL,
    outcome  TEXT    NOT NULL,
    at_ms    INTEGER NOT NULL,
    PRIMARY KEY (bulletin, level, target, channel)
) WITHOUT ROWID;
