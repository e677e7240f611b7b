-- Refresh tokens of JWT logins. A family is the session (auth_sessions.id) the login
-- opened: every refresh rotates to a new row of the same family, and presenting a used row
-- again ends the family. Only the SHA-256 of a token is stored.
CREATE TABLE auth_refresh_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id BIGINT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP NULL
);
CREATE UNIQUE INDEX auth_refresh_tokens_token_hash ON auth_refresh_tokens (token_hash);
CREATE INDEX auth_refresh_tokens_session ON auth_refresh_tokens (session_id);
CREATE INDEX auth_refresh_tokens_expires ON auth_refresh_tokens (expires_at);
