-- API keys: a user's bearer credentials for scripts and services. Only the SHA-256 of the
-- key is stored; `prefix` is its public start, for display. `permissions` is a JSON array
-- of permission codes the key is limited to, NULL for all of the owner's.
CREATE TABLE auth_api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    permissions TEXT NULL,
    expires_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NULL
);
CREATE UNIQUE INDEX auth_api_keys_key_hash ON auth_api_keys (key_hash);
CREATE INDEX auth_api_keys_user ON auth_api_keys (user_id);
