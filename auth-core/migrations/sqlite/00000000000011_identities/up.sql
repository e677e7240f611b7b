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
