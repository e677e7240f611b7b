-- API keys: a user's bearer credentials for scripts and services. Only the SHA-256 of the
-- key is stored; `prefix` is its public start, for display. `permissions` is a JSON array
-- of permission codes the key is limited to, NULL for all of the owner's.
CREATE TABLE auth_api_keys (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    name VARCHAR(100) NOT NULL,
    prefix VARCHAR(16) NOT NULL,
    key_hash VARCHAR(64) NOT NULL,
    permissions TEXT NULL,
    expires_at DATETIME(6) NULL,
    created_at DATETIME(6) NOT NULL,
    last_used_at DATETIME(6) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX auth_api_keys_key_hash ON auth_api_keys (key_hash);
CREATE INDEX auth_api_keys_user ON auth_api_keys (user_id);
