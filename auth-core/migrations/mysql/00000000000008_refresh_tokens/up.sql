-- Refresh tokens of JWT logins. A family is the session (auth_sessions.id) the login
-- opened: every refresh rotates to a new row of the same family, and presenting a used row
-- again ends the family. Only the SHA-256 of a token is stored.
CREATE TABLE auth_refresh_tokens (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    session_id BIGINT NOT NULL,
    token_hash VARCHAR(64) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    used_at DATETIME(6) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX auth_refresh_tokens_token_hash ON auth_refresh_tokens (token_hash);
CREATE INDEX auth_refresh_tokens_session ON auth_refresh_tokens (session_id);
CREATE INDEX auth_refresh_tokens_expires ON auth_refresh_tokens (expires_at);
