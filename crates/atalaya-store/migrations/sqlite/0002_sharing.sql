-- This node's own sharing policy (one row), as JSON.
CREATE TABLE node_policy (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    json       TEXT    NOT NULL,
    updated_ms INTEGER NOT NULL
);
