-- Account security: failed-login counters and locks, single-use account tokens (password
-- reset, e-mail verification), and the append-only audit log. Timestamps are UTC.
CREATE TABLE auth_throttle (
    scope VARCHAR(16) NOT NULL,
    throttle_key VARCHAR(191) NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    window_started_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP NULL,
    lockouts INTEGER NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, throttle_key)
);
CREATE INDEX auth_throttle_locked ON auth_throttle (locked_until);

CREATE TABLE auth_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash CHAR(64) NOT NULL,
    purpose VARCHAR(16) NOT NULL,
    user_id BIGINT NOT NULL,
    email VARCHAR(255) NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX auth_tokens_token_hash_key ON auth_tokens (token_hash);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id, purpose);
CREATE INDEX auth_tokens_expiry ON auth_tokens (expires_at);

CREATE TABLE auth_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TIMESTAMP NOT NULL,
    event VARCHAR(64) NOT NULL,
    user_id BIGINT NULL,
    account VARCHAR(191) NULL,
    ip VARCHAR(64) NULL,
    user_agent VARCHAR(512) NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX auth_events_user ON auth_events (user_id, id);
CREATE INDEX auth_events_event ON auth_events (event, id);
CREATE INDEX auth_events_created ON auth_events (created_at);
