//! Input checks shared by the routes. Every failure is a 422 naming the field.

use crate::response::ApiError;

pub(crate) use auth_core::user::MAX_ACCOUNT_CHARS;

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// [`auth_core::check_account_name`]: the one account-name rule, as a 422.
pub(crate) fn account(account: &str) -> Result<(), ApiError> {
    auth_core::check_account_name(account)
        .map_err(|why| ApiError::invalid(format!("account: {why}")))
}

/// [`auth_core::check_email`]: the one e-mail rule, as a 422.
pub(crate) fn email(email: &str) -> Result<(), ApiError> {
    auth_core::check_email(email).map_err(|why| ApiError::invalid(format!("email: {why}")))
}

/// Not empty. (Length limits and NUL are the hasher's, reported the same way.)
pub(crate) fn password(field: &str, password: &str) -> Result<(), ApiError> {
    if password.is_empty() {
        return Err(ApiError::invalid(format!("{field}: must not be empty")));
    }
    Ok(())
}

/// `platform`: short and printable, else it could not name a backend.
pub(crate) fn platform(platform: Option<&str>) -> Result<(), ApiError> {
    match platform {
        Some(p) if p.is_empty() || p.len() > 64 || has_control(p) => {
            Err(ApiError::invalid("platform: not a valid platform name"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts() {
        assert!(account("alice").is_ok());
        assert!(account("Zoë 李").is_ok());
        assert!(account("").is_err());
        assert!(account("a\0b").is_err());
        assert!(account(" a").is_err());
        assert!(account(&"a".repeat(151)).is_err());
        assert!(account(&"é".repeat(150)).is_ok());
    }

    #[test]
    fn emails() {
        assert!(email("a@b.c").is_ok());
        assert!(email("a@").is_err());
        assert!(email("a b@c").is_err());
        assert!(email("a@b@c").is_err());
        assert!(email(&format!("{}@b.c", "a".repeat(260))).is_err());
    }
}
