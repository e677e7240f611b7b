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
