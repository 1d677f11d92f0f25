-- Re-notifications. At a bulletin's origin: one row per recipient asked, per renotify envelope.
CREATE TABLE renotifies_sent (
    envelope TEXT    NOT NULL,
    bulletin TEXT    NOT NULL,
    node     TEXT    NOT NULL,
    by_whom  TEXT    NOT NULL,
    at_ms    INTEGER NOT NULL,
    PRIMARY KEY (envelope, node)
) WITHOUT ROWID;
CREATE INDEX renotifies_sent_by_bulletin ON renotifies_sent (bulletin, node);

-- At a recipient: the renotify envelopes received; `handled_ms` is set once the on-call roster
-- was called for it, so a renotify is acted on once, across restarts.
CREATE TABLE renotifies_received (
    envelope    TEXT    PRIMARY KEY,
    bulletin    TEXT    NOT NULL,
    origin      TEXT    NOT NULL,
    by_whom     TEXT    NOT NULL,
    at_ms       INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    handled_ms  INTEGER
);
CREATE INDEX renotifies_received_pending ON renotifies_received (received_ms) WHERE handled_ms IS NULL;

-- Escalation calls now say what caused them: the deadline schedule (renotify = '') or a
-- renotify envelope (its id), so each renotify calls everyone once, apart from the schedule.
CREATE TABLE escalations_v2 (
    bulletin TEXT    NOT NULL,
    renotify TEXT    NOT NULL DEFAULT '',
    level    INTEGER NOT NULL,
    target   TEXT    NOT NULL,
    channel  TEXT    NOT NULL,
    outcome  TEXT    NOT NULL,
    at_ms    INTEGER NOT NULL,
    PRIMARY KEY (bulletin, renotify, level, target, channel)
) WITHOUT ROWID;
INSERT INTO escalations_v2 (bulletin, renotify, level, target, channel, outcome, at_ms)
    SELECT bulletin, '', level, target, channel, outcome, at_ms FROM escalations;
DROP TABLE escalations;
ALTER TABLE escalations_v2 RENAME TO escalations;
