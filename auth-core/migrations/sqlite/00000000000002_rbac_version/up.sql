-- One row whose version grows with every change to roles, permissions, groups or their
-- links: cached permission sets carry the version they were computed at.
CREATE TABLE auth_rbac_version (
    id INTEGER PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO auth_rbac_version (id, version) VALUES (1, 0);
