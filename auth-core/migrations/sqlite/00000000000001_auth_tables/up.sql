-- Built-in auth tables (SQLite). Timestamps are UTC.
CREATE TABLE auth_permissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code VARCHAR(150) NOT NULL,
    remark TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX auth_permissions_code_key ON auth_permissions (code);

CREATE TABLE auth_roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(150) NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    parent_id BIGINT NULL REFERENCES auth_roles (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX auth_roles_name_key ON auth_roles (name);

CREATE TABLE auth_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(150) NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX auth_groups_name_key ON auth_groups (name);

CREATE TABLE auth_role_permissions (
    role_id BIGINT NOT NULL REFERENCES auth_roles (id) ON DELETE CASCADE,
    permission_id BIGINT NOT NULL REFERENCES auth_permissions (id) ON DELETE CASCADE,
    PRIMARY KEY (role_id, permission_id)
);
CREATE INDEX auth_role_permissions_permission ON auth_role_permissions (permission_id);

CREATE TABLE auth_user_roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    role_id BIGINT NOT NULL REFERENCES auth_roles (id) ON DELETE CASCADE,
    scope VARCHAR(191) NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX auth_user_roles_key ON auth_user_roles (user_id, role_id, scope);
CREATE INDEX auth_user_roles_role ON auth_user_roles (role_id);

CREATE TABLE auth_user_groups (
    user_id BIGINT NOT NULL,
    group_id BIGINT NOT NULL REFERENCES auth_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX auth_user_groups_group ON auth_user_groups (group_id);

CREATE TABLE auth_group_roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id BIGINT NOT NULL REFERENCES auth_groups (id) ON DELETE CASCADE,
    role_id BIGINT NOT NULL REFERENCES auth_roles (id) ON DELETE CASCADE,
    scope VARCHAR(191) NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX auth_group_roles_key ON auth_group_roles (group_id, role_id, scope);
CREATE INDEX auth_group_roles_role ON auth_group_roles (role_id);

CREATE TABLE auth_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash CHAR(64) NOT NULL,
    user_id BIGINT NOT NULL,
    platform VARCHAR(64) NOT NULL DEFAULT 'default',
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    idle_expires_at TIMESTAMP NOT NULL,
    absolute_expires_at TIMESTAMP NOT NULL,
    ip VARCHAR(64) NULL,
    user_agent VARCHAR(512) NULL,
    session_info TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX auth_sessions_token_hash_key ON auth_sessions (token_hash);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);
CREATE INDEX auth_sessions_absolute_expiry ON auth_sessions (absolute_expires_at);
CREATE INDEX auth_sessions_idle_expiry ON auth_sessions (idle_expires_at);
