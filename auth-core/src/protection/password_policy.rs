//! Password policy: which new passwords are accepted (SPEC C8.3). No database, no HTTP.
//!
//! [`PasswordPolicy::check`] applies, in this order:
//!
//! 1. `min_length` (default [`DEFAULT_MIN_LENGTH`] = 8 characters);
//! 2. `max_length` (default [`DEFAULT_MAX_LENGTH`] = 64 characters);
//! 3. `reject_common` (default on): the password, compared case-insensitively, is not in the
//!    bundled list of common passwords (`common_passwords.txt`, about 1,200 entries, looked
//!    up in a hash set built on first use);
//! 4. `reject_account` (default on): the password is not the account name, nor contains it,
//!    nor contains it reversed (case-insensitive). Account names shorter than
//!    [`MIN_CONTAINED_ACCOUNT_CHARS`] only count when the password equals them.
//!
//! Lengths count characters (Unicode scalar values), not bytes. Independently of the policy,
//! bcrypt cannot use more than [`crate::password::BCRYPT_MAX_BYTES`] (72) bytes, and the
//! hasher refuses longer passwords ([`crate::password::ensure_hashable`]): 64 characters of
//! ASCII fit, 64 characters of accented or non-Latin text may not. Setting `max_length`
//! above 72 therefore does not let longer passwords through.
//!
//! The service applies the policy on register and change-password, and exposes it as
//! `AuthService::check_password` for other flows that set a password (reset).

pub use crate::error::PolicyViolation;

use std::collections::HashSet;
use std::sync::LazyLock;

/// Default minimum length, in characters.
pub const DEFAULT_MIN_LENGTH: usize = 8;
/// Default maximum length, in characters.
pub const DEFAULT_MAX_LENGTH: usize = 64;
/// Shortest account name the "contains the account name" rule looks for inside a password
/// (shorter names would refuse too many passwords; equality is still refused).
pub const MIN_CONTAINED_ACCOUNT_CHARS: usize = 3;

static COMMON_LIST: &str = include_str!("common_passwords.txt");

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    COMMON_LIST
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// Whether `password` is in the bundled list of common passwords (case-insensitive).
pub fn is_common_password(password: &str) -> bool {
    COMMON.contains(password.to_lowercase().as_str())
}

/// Which passwords are accepted. Fields are public; start from [`PasswordPolicy::default`]
/// (the recommended rules) or [`PasswordPolicy::none`] (no rules) and change what you need:
///
/// ```
/// use auth_core::password_policy::PasswordPolicy;
/// let policy = PasswordPolicy { min_length: 12, ..PasswordPolicy::default() };
/// assert!(policy.check("alice", "correct horse").is_ok());
/// assert_eq!(policy.check("alice", "short-pass").unwrap_err().rule(), "min_length");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Fewest characters accepted (default 8). `0` turns the rule off.
    pub min_length: usize,
    /// Most characters accepted (default 64). `usize::MAX` turns the rule off; the hasher's
    /// 72-byte limit applies regardless.
    pub max_length: usize,
    /// Refuse passwords in the bundled common-password list (default `true`).
    pub reject_common: bool,
    /// Refuse passwords equal to the account name, or containing it forwards or reversed,
    /// case-insensitively (default `true`).
    pub reject_account: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: DEFAULT_MIN_LENGTH,
            max_length: DEFAULT_MAX_LENGTH,
            reject_common: true,
            reject_account: true,
        }
    }
}

impl PasswordPolicy {
    /// No rules at all (only the hasher's limits remain: 72 bytes, no NUL).
    pub fn none() -> Self {
        PasswordPolicy {
            min_length: 0,
            max_length: usize::MAX,
            reject_common: false,
            reject_account: false,
        }
    }

    /// Checks `password` for the user `account`; the first broken rule is returned, in the
    /// order of the module documentation.
    pub fn check(&self, account: &str, password: &str) -> Result<(), PolicyViolation> {
        let chars = password.chars().count();
        if chars < self.min_length {
            return Err(PolicyViolation::TooShort {
                min: self.min_length,
            });
        }
        if chars > self.max_length {
            return Err(PolicyViolation::TooLong {
                max: self.max_length,
            });
        }
        if self.reject_common && is_common_password(password) {
            return Err(PolicyViolation::Common);
        }
        if self.reject_account && contains_account(account, password) {
            return Err(PolicyViolation::ContainsAccount);
        }
        Ok(())
    }
}

/// Whether `password` equals `account`, or contains it or its reverse (account names of at
/// least [`MIN_CONTAINED_ACCOUNT_CHARS`] characters), ignoring case.
fn contains_account(account: &str, password: &str) -> bool {
    let account = account.to_lowercase();
    if account.is_empty() {
        return false;
    }
    let password = password.to_lowercase();
    let reversed: String = account.chars().rev().collect();
    if password == account || password == reversed {
        return true;
    }
    account.chars().count() >= MIN_CONTAINED_ACCOUNT_CHARS
        && (password.contains(&account) || password.contains(&reversed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(policy: &PasswordPolicy, account: &str, password: &str) -> Option<&'static str> {
        policy.check(account, password).err().map(|v| v.rule())
    }

    #[test]
    fn defaults() {
        let p = PasswordPolicy::default();
        assert_eq!(p.min_length, 8);
        assert_eq!(p.max_length, 64);
        assert!(p.reject_common && p.reject_account);
        assert_eq!(rule(&p, "alice", "correct horse"), None);
    }

    #[test]
    fn min_length_counts_characters() {
        let p = PasswordPolicy::default();
        assert_eq!(rule(&p, "alice", "k7#fQ2z"), Some("min_length"));
        assert_eq!(rule(&p, "alice", "k7#fQ2zx"), None);
        // 7 characters, 14 bytes: still too short.
        assert_eq!(rule(&p, "alice", "ééééééé"), Some("min_length"));
        assert_eq!(rule(&p, "alice", "éééééééé"), None);
        assert_eq!(
            p.check("alice", "short").unwrap_err().to_string(),
            "password: at least 8 characters"
        );
    }

    #[test]
    fn max_length() {
        let p = PasswordPolicy::default();
        assert_eq!(rule(&p, "alice", &"k7#fQ2zx".repeat(8)), None);
        let long = format!("{}y", "k7#fQ2zx".repeat(8));
        assert_eq!(rule(&p, "alice", &long), Some("max_length"));
        assert_eq!(
            p.check("alice", &long).unwrap_err().to_string(),
            "password: at most 64 characters"
        );
    }

    #[test]
    fn common_passwords_case_insensitive() {
        let p = PasswordPolicy::default();
        for pw in [
            "password",
            "PASSWORD",
            "Password1",
            "qwerty123",
            "iloveyou",
            "12345678",
        ] {
            assert_eq!(rule(&p, "alice", pw), Some("common"), "{pw}");
        }
        assert!(is_common_password("LetMeIn"));
        assert!(!is_common_password("correct horse"));
        assert!(
            !is_common_password("# common passwords"),
            "header is not data"
        );
        assert!(COMMON.len() > 500, "the list is loaded ({})", COMMON.len());
        assert!(
            COMMON.iter().all(|w| *w == w.to_lowercase()),
            "entries are lowercase, or they could never match"
        );
        let off = PasswordPolicy {
            reject_common: false,
            ..PasswordPolicy::default()
        };
        assert_eq!(rule(&off, "alice", "password"), None);
    }

    #[test]
    fn account_name() {
        let p = PasswordPolicy::default();
        assert_eq!(
            rule(&p, "AliceSmith", "alicesmith"),
            Some("contains_account")
        );
        assert_eq!(rule(&p, "alice", "my-alice-pw"), Some("contains_account"));
        assert_eq!(rule(&p, "alice", "xx-ECILA-yy"), Some("contains_account"));
        assert_eq!(rule(&p, "bob", "bob-the-builder"), Some("contains_account"));
        // Short names only count when equal.
        assert_eq!(rule(&p, "jo", "jo-jo-jo-jo"), None);
        let short = PasswordPolicy {
            min_length: 0,
            ..PasswordPolicy::default()
        };
        assert_eq!(rule(&short, "jo", "JO"), Some("contains_account"));
        assert_eq!(rule(&short, "jo", "oj"), Some("contains_account"));
        assert_eq!(rule(&p, "", "k7#fQ2zx"), None);
        let off = PasswordPolicy {
            reject_account: false,
            ..PasswordPolicy::default()
        };
        assert_eq!(rule(&off, "alice", "my-alice-pw"), None);
    }

    #[test]
    fn rules_and_messages() {
        let all = [
            PolicyViolation::TooShort { min: 8 },
            PolicyViolation::TooLong { max: 64 },
            PolicyViolation::Common,
            PolicyViolation::ContainsAccount,
        ];
        let rules: Vec<&str> = all.iter().map(PolicyViolation::rule).collect();
        assert_eq!(
            rules,
            ["min_length", "max_length", "common", "contains_account"]
        );
        assert!(all.iter().all(|v| v.to_string().starts_with("password: ")));
    }

    #[test]
    fn none_accepts_anything() {
        let p = PasswordPolicy::none();
        for pw in ["", "a", "password", "alice", &"x".repeat(500)] {
            assert_eq!(rule(&p, "alice", pw), None, "{pw}");
        }
    }

    #[test]
    fn custom_limits() {
        let p = PasswordPolicy {
            min_length: 12,
            max_length: 16,
            ..PasswordPolicy::default()
        };
        assert_eq!(rule(&p, "alice", "k7#fQ2zxk7#"), Some("min_length"));
        assert_eq!(rule(&p, "alice", "k7#fQ2zxk7#f"), None);
        assert_eq!(rule(&p, "alice", "k7#fQ2zxk7#fQ2zxy"), Some("max_length"));
        assert_eq!(
            p.check("alice", "short").unwrap_err(),
            PolicyViolation::TooShort { min: 12 }
        );
    }
}
