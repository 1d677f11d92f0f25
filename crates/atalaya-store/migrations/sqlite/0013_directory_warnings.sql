-- Warnings sent about directory records (a key about to expire, contacts nobody confirmed):
-- one per (team, subject, stage), so a pass that runs every hour warns once.
CREATE TABLE directory_warnings (
    team       TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    stage      TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    sent_ms    INTEGER NOT NULL,
    recipients TEXT    NOT NULL,
    PRIMARY KEY (team, subject, stage)
) WITHOUT ROWID;
CREATE INDEX directory_warnings_by_time ON directory_warnings (sent_ms DESC);
