//! Length limits: what the runtime accepts and what the derive makes the columns hold.

/// Longest account name accepted, in characters (the account column's default
/// `VARCHAR` length).
pub const MAX_ACCOUNT_CHARS: usize = 150;

/// Longest e-mail address accepted, in characters: the RFC 5321 path limit (the e-mail
/// column's default `VARCHAR` length).
pub const MAX_EMAIL_CHARS: usize = 254;

/// The password-hash column's default `VARCHAR` length (a bcrypt hash is 60 characters;
/// the room is for other hash formats).
pub const PASSWORD_HASH_CHARS: usize = 255;
