-- Peer health judged over a streak (atalaya_core::peer_health): when the current streak of
-- failures began, and when its outage was paged to the duty roster (cleared when it is back).
ALTER TABLE peers ADD COLUMN failing_since_ms INTEGER;
ALTER TABLE peers ADD COLUMN down_alerted_ms INTEGER;
UPDATE peers SET failing_since_ms = last_failure_ms WHERE consecutive_failures > 0;

-- Every page sent about a peer going down or coming back, for the console and the API.
CREATE TABLE peer_alerts (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    peer     TEXT    NOT NULL,
    event    TEXT    NOT NULL CHECK (event IN ('down', 'back')),
    target   TEXT    NOT NULL,
    channel  TEXT    NOT NULL,
    outcome  TEXT    NOT NULL,
    at_ms    INTEGER NOT NULL
);
CREATE INDEX peer_alerts_by_time ON peer_alerts (at_ms DESC, id DESC);
