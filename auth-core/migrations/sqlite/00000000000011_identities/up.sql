-- External identities (OpenID Connect / OAuth2 providers, LDAP): who a provider says the
-- user is (`subject`, unique per provider), and the local user it logs in as.
CREATE TABLE auth_identities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT NULL,
    created_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP NULL
);
CREATE UNIQUE INDEX auth_identities_provider_subject ON auth_identities (provider, subject);
CREATE INDEX auth_identities_user ON auth_identities (user_id);
-- OAuth2 / OpenID Connect authorizations under way: the SHA-256 of the `state` sent to the
-- provider, the SHA-256 of the browser's binding cookie, the PKCE verifier and the nonce
-- to check the answer with, where to go next, and (for linking) the user asking; single
-- use, minutes long.
CREATE TABLE auth_oauth_states (
    state_hash TEXT NOT NULL PRIMARY KEY,
    browser_hash TEXT NOT NULL,
    provider TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    nonce TEXT NOT NULL,
    next TEXT NOT NULL,
    link_user_id BIGINT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX auth_oauth_states_expires ON auth_oauth_states (expires_at);
