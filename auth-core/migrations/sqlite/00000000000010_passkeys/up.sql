-- Passkeys (WebAuthn credentials). `credential_id` is the credential's id, base64url
-- without padding; `user_handle` is the random WebAuthn user handle (a UUID) the user's
-- passkeys share; `passkey` is webauthn-rs's serialized `Passkey` (public key, counter,
-- backup state: no secret).
CREATE TABLE auth_passkeys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    user_handle TEXT NOT NULL,
    passkey TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NULL
);
CREATE UNIQUE INDEX auth_passkeys_credential_id ON auth_passkeys (credential_id);
CREATE INDEX auth_passkeys_user ON auth_passkeys (user_id);
-- Ceremonies under way (registration or login): the webauthn-rs state, kept server-side
-- under the SHA-256 of the random token the browser holds in a cookie; single use.
CREATE TABLE auth_webauthn_ceremonies (
    token_hash TEXT NOT NULL PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id BIGINT NULL,
    state TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX auth_webauthn_ceremonies_expires ON auth_webauthn_ceremonies (expires_at);
