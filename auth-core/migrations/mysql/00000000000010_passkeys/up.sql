-- Passkeys (WebAuthn credentials). `credential_id` is the credential's id, base64url
-- without padding (ASCII, so that its unique index fits InnoDB's key length); `user_handle`
-- is the random WebAuthn user handle (a UUID) the user's passkeys share; `passkey` is
-- webauthn-rs's serialized `Passkey` (public key, counter, backup state: no secret).
CREATE TABLE auth_passkeys (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    name VARCHAR(100) NOT NULL,
    credential_id VARCHAR(1400) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    user_handle VARCHAR(36) NOT NULL,
    passkey TEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    last_used_at DATETIME(6) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX auth_passkeys_credential_id ON auth_passkeys (credential_id);
CREATE INDEX auth_passkeys_user ON auth_passkeys (user_id);
-- Ceremonies under way (registration or login): the webauthn-rs state, kept server-side
-- under the SHA-256 of the random token the browser holds in a cookie; single use.
CREATE TABLE auth_webauthn_ceremonies (
    token_hash VARCHAR(64) NOT NULL PRIMARY KEY,
    kind VARCHAR(16) NOT NULL,
    user_id BIGINT NULL,
    state MEDIUMTEXT NOT NULL,
    expires_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX auth_webauthn_ceremonies_expires ON auth_webauthn_ceremonies (expires_at);
