-- People who use the console and the API, their sessions, and scoped API tokens.

CREATE TABLE users (
    id             TEXT    PRIMARY KEY,
    username       TEXT    NOT NULL UNIQUE,
    display_name   TEXT    NOT NULL,
    role           TEXT    NOT NULL,
    -- Argon2id, PHC string.
    password_hash  TEXT    NOT NULL,
    -- Base32 TOTP secret once enrolment is confirmed; NULL until then.
    totp_secret    TEXT,
    -- The last TOTP step accepted: codes of that step or earlier are refused (no replay).
    totp_last_step INTEGER,
    -- Preferred console language (en, es, pt, fr); NULL follows the browser.
    language       TEXT,
    timezone       TEXT    NOT NULL DEFAULT 'UTC',
    -- Only ever set by the demo: the account may work without a second factor.
    mfa_exempt     INTEGER NOT NULL DEFAULT 0,
    created_ms     INTEGER NOT NULL,
    disabled_ms    INTEGER
);

-- Single-use recovery codes, as SHA-256 of the code.
CREATE TABLE recovery_codes (
    user_id   TEXT    NOT NULL REFERENCES users (id),
    code_hash TEXT    NOT NULL,
    used_ms   INTEGER,
    PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;

-- Server-side sessions. The cookie carries a random id; only its SHA-256 is kept here.
CREATE TABLE sessions (
    id_hash      TEXT    PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id),
    csrf         TEXT    NOT NULL,
    mfa_done     INTEGER NOT NULL,
    address      TEXT    NOT NULL,
    created_ms   INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);

-- API tokens belong to a person (NULL: made with the CLI on the node itself) and carry scopes
-- (`*` for all rights, as the tokens made before accounts existed).
ALTER TABLE api_tokens ADD COLUMN user_id TEXT;
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT '*';
ALTER TABLE api_tokens ADD COLUMN expires_ms INTEGER;
ALTER TABLE api_tokens ADD COLUMN last_used_ms INTEGER;
