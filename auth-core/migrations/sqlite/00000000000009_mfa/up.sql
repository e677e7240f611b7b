-- Multi-factor authentication.
--
-- A session records when it passed a second factor (mfa_at) and when its user last proved
-- who they are again (reauthenticated_at), for the guards' `mfa` and `fresh` options.
ALTER TABLE auth_sessions ADD COLUMN mfa_at TIMESTAMP NULL;
ALTER TABLE auth_sessions ADD COLUMN reauthenticated_at TIMESTAMP NULL;

-- A user's TOTP authenticator: the secret encrypted with the configured key (never in
-- clear), enabled_at NULL until the first code confirms the setup, and the last time step
-- accepted (a code is never accepted twice).
CREATE TABLE auth_mfa_totp (
    user_id BIGINT NOT NULL PRIMARY KEY,
    secret TEXT NOT NULL,
    enabled_at TIMESTAMP NULL,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);

-- Backup codes: single use, only their SHA-256 (with the user id) is stored.
CREATE TABLE auth_mfa_backup_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    code_hash TEXT NOT NULL,
    used_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX auth_mfa_backup_codes_user ON auth_mfa_backup_codes (user_id);

-- The second step of a login: a password accepted, a code still to give. Only the
-- SHA-256 of the mfa_token is stored; a row is deleted when used.
CREATE TABLE auth_mfa_challenges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    finish TEXT NOT NULL,
    platform TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX auth_mfa_challenges_token_hash ON auth_mfa_challenges (token_hash);
CREATE INDEX auth_mfa_challenges_user ON auth_mfa_challenges (user_id);
CREATE INDEX auth_mfa_challenges_expiry ON auth_mfa_challenges (expires_at);
