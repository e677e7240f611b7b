//! Diesel schema of the built-in auth tables (the user table is the application's, generated
//! by `#[derive(AuthUser)]`).
//!
//! All tables carry the `auth_` prefix. Role assignments store the global scope as the empty
//! string so that a unique index can forbid duplicate assignments on every backend (NULLs
//! are distinct in unique indexes). `user_id` columns have no foreign key: the user table
//! belongs to the application and is migrated separately; deleting a user removes its rows
//! here in the same transaction.
#![allow(missing_docs)]

diesel::table! {
    /// Permissions: an access code such as `article.create` and a remark.
    auth_permissions (id) {
        id -> BigInt,
        code -> Text,
        remark -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Roles; a role inherits the permissions of its parent.
    auth_roles (id) {
        id -> BigInt,
        name -> Text,
        description -> Text,
        parent_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Groups of users; a group carries roles.
    auth_groups (id) {
        id -> BigInt,
        name -> Text,
        description -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Which permissions a role grants.
    auth_role_permissions (role_id, permission_id) {
        role_id -> BigInt,
        permission_id -> BigInt,
    }
}

diesel::table! {
    /// Roles assigned to users, optionally within a scope (`""` = global).
    auth_user_roles (id) {
        id -> BigInt,
        user_id -> BigInt,
        role_id -> BigInt,
        scope -> Text,
        created_at -> Timestamp,
        granted_by -> Text,
    }
}

diesel::table! {
    /// Group membership.
    auth_user_groups (user_id, group_id) {
        user_id -> BigInt,
        group_id -> BigInt,
    }
}

diesel::table! {
    /// Roles assigned to groups, optionally within a scope (`""` = global).
    auth_group_roles (id) {
        id -> BigInt,
        group_id -> BigInt,
        role_id -> BigInt,
        scope -> Text,
    }
}

diesel::table! {
    /// Server-side sessions. Only the SHA-256 of the cookie token is stored.
    auth_sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        platform -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        idle_expires_at -> Timestamp,
        absolute_expires_at -> Timestamp,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        session_info -> Text,
        mfa_at -> Nullable<Timestamp>,
        reauthenticated_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(auth_role_permissions -> auth_roles (role_id));
diesel::joinable!(auth_role_permissions -> auth_permissions (permission_id));
diesel::joinable!(auth_user_roles -> auth_roles (role_id));
diesel::joinable!(auth_user_groups -> auth_groups (group_id));
diesel::joinable!(auth_group_roles -> auth_roles (role_id));
diesel::joinable!(auth_group_roles -> auth_groups (group_id));

diesel::allow_tables_to_appear_in_same_query!(
    auth_permissions,
    auth_roles,
    auth_groups,
    auth_role_permissions,
    auth_user_roles,
    auth_user_groups,
    auth_group_roles,
    auth_sessions,
    auth_rbac_version,
);

diesel::table! {
    /// A single row (`id = 1`) whose `version` grows with every RBAC change.
    auth_rbac_version (id) {
        id -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    /// Why a user was suspended (at most one row per user), when and by whom.
    auth_user_status (user_id) {
        user_id -> BigInt,
        reason -> Text,
        changed_at -> Timestamp,
        changed_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Failed-login counters and locks, per account name (`scope = 'account'`) and per
    /// client IP (`scope = 'ip'`).
    auth_throttle (scope, throttle_key) {
        scope -> Text,
        throttle_key -> Text,
        failures -> Integer,
        window_started_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        lockouts -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Single-use account tokens (password reset, e-mail verification), by SHA-256.
    auth_tokens (id) {
        id -> BigInt,
        token_hash -> Text,
        purpose -> Text,
        user_id -> BigInt,
        email -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// The append-only audit log of auth events.
    auth_events (id) {
        id -> BigInt,
        created_at -> Timestamp,
        event -> Text,
        user_id -> Nullable<BigInt>,
        account -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::table! {
    /// Append-only log of users whose cached sessions must be dropped (sessions ended, user
    /// changed), polled by every instance's session cache.
    auth_revocations (id) {
        id -> BigInt,
        user_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// API keys. Only the SHA-256 of a key is stored; `prefix` is its public start.
    auth_api_keys (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        permissions -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Refresh tokens of JWT logins; a family is the session the login opened. Only the
    /// SHA-256 of a token is stored.
    auth_refresh_tokens (id) {
        id -> BigInt,
        session_id -> BigInt,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Passkeys (WebAuthn credentials): the credential id (base64url), the user handle
    /// their owner's passkeys share, and webauthn-rs's serialized `Passkey` (JSON).
    auth_passkeys (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        credential_id -> Text,
        user_handle -> Text,
        passkey -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// A user's TOTP authenticator: the encrypted secret, when it was confirmed, and the
    /// last time step accepted.
    auth_mfa_totp (user_id) {
        user_id -> BigInt,
        secret -> Text,
        enabled_at -> Nullable<Timestamp>,
        last_step -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// WebAuthn ceremonies under way, by the SHA-256 of the browser's ceremony cookie:
    /// `kind` is `register` (bound to `user_id`) or `login`; `state` is webauthn-rs's
    /// serialized state (JSON). Single use.
    auth_webauthn_ceremonies (token_hash) {
        token_hash -> Text,
        kind -> Text,
        user_id -> Nullable<BigInt>,
        state -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// Single-use backup codes, by SHA-256.
    auth_mfa_backup_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Logins waiting for their second factor, by SHA-256 of the `mfa_token`.
    auth_mfa_challenges (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        finish -> Text,
        platform -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// External identities: the subject a provider (an OpenID Connect / OAuth2 provider,
    /// LDAP) asserts, unique per provider, and the local user it logs in as.
    auth_identities (id) {
        id -> BigInt,
        user_id -> BigInt,
        provider -> Text,
        subject -> Text,
        email -> Nullable<Text>,
        created_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// OAuth2 / OpenID Connect authorizations under way, under the SHA-256 of their
    /// `state`: the browser binding's hash, the PKCE verifier, the nonce, where to go next,
    /// and the user asking to link (if any). Single use.
    auth_oauth_states (state_hash) {
        state_hash -> Text,
        browser_hash -> Text,
        provider -> Text,
        pkce_verifier -> Text,
        nonce -> Text,
        next -> Text,
        link_user_id -> Nullable<BigInt>,
        expires_at -> Timestamp,
        reauth_session_id -> Nullable<BigInt>,
    }
}
