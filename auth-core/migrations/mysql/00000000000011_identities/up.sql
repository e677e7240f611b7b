-- External identities (OpenID Connect / OAuth2 providers, LDAP): who a provider says the
-- user is (`subject`, unique per provider), and the local user it logs in as. Binary
-- collation: a provider's subject is compared byte for byte.
CREATE TABLE auth_identities (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    provider VARCHAR(64) NOT NULL,
    subject VARCHAR(255) NOT NULL,
    email VARCHAR(254) NULL,
    created_at DATETIME(6) NOT NULL,
    last_login_at DATETIME(6) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX auth_identities_provider_subject ON auth_identities (provider, subject);
CREATE INDEX auth_identities_user ON auth_identities (user_id);
-- OAuth2 / OpenID Connect authorizations under way: the SHA-256 of the `state` sent to the
-- provider, the SHA-256 of the browser's binding cookie, the PKCE verifier and the nonce
-- to check the answer with, where to go next, and (for linking) the user asking; single
-- use, minutes long.
CREATE TABLE auth_oauth_states (
    state_hash VARCHAR(64) NOT NULL PRIMARY KEY,
    browser_hash VARCHAR(64) NOT NULL,
    provider VARCHAR(64) NOT NULL,
    pkce_verifier VARCHAR(128) NOT NULL,
    nonce VARCHAR(128) NOT NULL,
    next TEXT NOT NULL,
    link_user_id BIGINT NULL,
    expires_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX auth_oauth_states_expires ON auth_oauth_states (expires_at);
