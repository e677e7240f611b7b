//! The user as the auth router answers it, in seed 000's wire format: the core fields (id,
//! account, e-mail, flags, times) at the top level and the model's custom fields under
//! `extra`, as registration takes them; the login and `me` answers add the user's global
//! `roles` and `groups` as `[{id, name}]`. The password hash is never part of it.

use auth_core::{AuthUser, DbConn, rbac};
use serde_json::{Map, Value};

use crate::response::ApiError;

/// `user` with its custom fields under `extra`.
pub(crate) fn user<U: AuthUser>(user: &U) -> Result<Value, ApiError> {
    let mut value = serde_json::to_value(user).map_err(|e| ApiError::internal(&e))?;
    if let Value::Object(map) = &mut value {
        let mut extra = Map::new();
        for &name in U::CUSTOM_FIELDS {
            if let Some(field) = map.remove(name) {
                extra.insert(name.to_owned(), field);
            }
        }
        map.insert("extra".into(), Value::Object(extra));
    }
    Ok(value)
}

/// [`user`] with the roles and groups it holds globally: what login and `me` answer.
pub(crate) async fn user_with_memberships<U: AuthUser>(
    conn: &mut DbConn,
    found: &U,
) -> Result<Value, ApiError> {
    let mut value = user(found)?;
    let roles = rbac::user_roles(conn, found.id()).await?;
    let groups = rbac::user_groups(conn, found.id()).await?;
    if let Value::Object(map) = &mut value {
        let list = |named: Vec<rbac::Named>| serde_json::to_value(named).unwrap_or_default();
        map.insert("roles".into(), list(roles));
        map.insert("groups".into(), list(groups));
    }
    Ok(value)
}

/// Registration's custom fields: `extra` together with the top-level keys that are not
/// the body's own (seed 000 sends them either way). A key given both ways is refused.
pub(crate) fn merge_extra(
    mut extra: Map<String, Value>,
    top_level: Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    for (key, value) in top_level {
        if extra.contains_key(&key) {
            return Err(ApiError::invalid(format!(
                "{key}: given both at the top level and in extra"
            )));
        }
        extra.insert(key, value);
    }
    Ok(extra)
}

/// Refuses (422, before any other check) a key of `extra` that is no custom field of `U`:
/// a core field (`is_superuser`, ...) is `"<key>: not a custom field"`, anything else
/// `"<key>: unknown field"`.
pub(crate) fn only_custom_fields<U: AuthUser>(extra: &Map<String, Value>) -> Result<(), ApiError> {
    match extra
        .keys()
        .find(|k| !U::CUSTOM_FIELDS.contains(&k.as_str()))
    {
        None => Ok(()),
        Some(key) if U::TABLE.column(key).is_some() => {
            Err(ApiError::invalid(format!("{key}: not a custom field")))
        }
        Some(key) => Err(ApiError::invalid(format!("{key}: unknown field"))),
    }
}

/// The e-mail address of a registration: the body's `email`, or `extra.email` (taken out
/// of the custom fields). Both at once is refused, as is a value that is not a string.
pub(crate) fn take_email(
    email: Option<String>,
    extra: &mut Map<String, Value>,
) -> Result<Option<String>, ApiError> {
    match (email, extra.remove("email")) {
        (email, None | Some(Value::Null)) => Ok(email),
        (None, Some(Value::String(inner))) => Ok(Some(inner)),
        (None, Some(_)) => Err(ApiError::invalid("email: expected a string")),
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "email: given both at the top level and in extra",
        )),
    }
}
