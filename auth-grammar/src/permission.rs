//! The permission-code grammar.

/// The longest permission code, in bytes.
pub const MAX_PERMISSION_BYTES: usize = 150;

/// What a permission must look like, for error messages.
pub const PERMISSION_RULE: &str = "two or more dot-separated segments of lowercase letters, \
     digits, `_` or `-`, each starting with a letter or digit, at most 150 characters, \
     such as \"article.create\"";

/// Whether `code` is a well-formed permission: two or more dot-separated segments of
/// lowercase ASCII letters, digits, `_` or `-`, each starting with a letter or digit, at
/// most [`MAX_PERMISSION_BYTES`] bytes ([`PERMISSION_RULE`]).
pub fn is_valid_permission(code: &str) -> bool {
    let mut segments = 0;
    for segment in code.split('.') {
        segments += 1;
        let mut chars = segment.chars();
        match chars.next() {
            Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() => {}
            _ => return false,
        }
        if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-') {
            return false;
        }
    }
    segments >= 2 && code.len() <= MAX_PERMISSION_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_names() {
        for ok in [
            "article.create",
            "users.read",
            "a.b.c",
            "x1.y-2",
            "proj_x.read",
            "0.1",
        ] {
            assert!(is_valid_permission(ok), "{ok}");
        }
        let long = format!("a.{}", "b".repeat(149));
        for bad in [
            "article",
            "Article.create",
            "article.",
            ".create",
            "a..b",
            "a.b c",
            "",
            "a.-b",
            "a._b",
            "a.é",
            long.as_str(),
        ] {
            assert!(!is_valid_permission(bad), "{bad}");
        }
        assert!(is_valid_permission(&format!("a.{}", "b".repeat(148))));
    }
}
