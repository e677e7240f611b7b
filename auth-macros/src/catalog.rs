//! The permission catalog, `permissions.toml` in the root of the crate being compiled:
//! parsing, lookup with a "did you mean" suggestion, and `permission_catalog!()`.
//!
//! ```toml
//! [permissions]
//! "article.create" = "Create articles"
//! "article.delete" = "Delete articles"
//! ```
//!
//! Everything but [`load`] and [`permission_catalog`] is pure, so the unit tests below
//! cover it without touching the file system.

use std::collections::BTreeMap;

use proc_macro2::{Span, TokenStream};
use quote::quote;

/// The catalog's file name, relative to `CARGO_MANIFEST_DIR`.
pub(crate) const FILE_NAME: &str = "permissions.toml";

/// A parsed, valid catalog: permission code -> description, sorted by code.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Catalog {
    entries: BTreeMap<String, String>,
}

pub(crate) use auth_grammar::permission::{PERMISSION_RULE, is_valid_permission};

impl Catalog {
    /// Parses the text of `permissions.toml`: a `[permissions]` table of
    /// `"code" = "description"` entries and nothing else. Every problem is listed in the
    /// error, one per line.
    pub(crate) fn parse(text: &str) -> Result<Catalog, String> {
        let table: toml::Table = text
            .parse()
            .map_err(|err: toml::de::Error| format!("invalid {FILE_NAME}: {}", err.message()))?;
        let mut problems = Vec::new();
        let mut entries = BTreeMap::new();
        for (key, value) in &table {
            if key != "permissions" {
                problems.push(format!(
                    "unknown key `{key}`: {FILE_NAME} holds only a [permissions] table"
                ));
                continue;
            }
            let Some(permissions) = value.as_table() else {
                problems.push(
                    "`permissions` must be a table: write [permissions] and then \
                     \"article.create\" = \"Create articles\" lines"
                        .to_owned(),
                );
                continue;
            };
            for (code, description) in permissions {
                if !is_valid_permission(code) {
                    problems.push(format!(
                        "invalid permission `{code}`: expected {PERMISSION_RULE}"
                    ));
                }
                match description.as_str() {
                    Some(text) => {
                        entries.insert(code.clone(), text.to_owned());
                    }
                    None => problems.push(format!(
                        "the description of `{code}` must be a string, as in \
                         \"{code}\" = \"What it allows\""
                    )),
                }
            }
        }
        if !table.contains_key("permissions") {
            problems.push(format!(
                "{FILE_NAME} has no [permissions] table: write [permissions] and then \
                 \"article.create\" = \"Create articles\" lines"
            ));
        }
        if problems.is_empty() {
            Ok(Catalog { entries })
        } else {
            Err(format!("invalid {FILE_NAME}: {}", problems.join("; ")))
        }
    }

    /// `Ok` when `code` is declared; otherwise the error message, with the closest declared
    /// code as a suggestion when one is close enough.
    pub(crate) fn check(&self, code: &str) -> Result<(), String> {
        if self.entries.contains_key(code) {
            return Ok(());
        }
        let mut msg = format!("permission `{code}` is not declared in {FILE_NAME}");
        match self.suggest(code) {
            Some(close) => msg.push_str(&format!(" (did you mean `{close}`?)")),
            None => msg.push_str(": declare it under [permissions]"),
        }
        Err(msg)
    }

    /// The declared code closest to `code` by edit distance, if it is close enough to be a
    /// likely typo (at most 2 edits, or a quarter of the length for long codes). The first in
    /// sorted order wins a tie.
    pub(crate) fn suggest(&self, code: &str) -> Option<&str> {
        let limit = (code.chars().count() / 4).max(2);
        self.entries
            .keys()
            .map(|known| (edit_distance(code, known), known))
            .filter(|(distance, _)| *distance <= limit)
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, known)| known.as_str())
    }

    /// The entries, sorted by code.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(c, d)| (c.as_str(), d.as_str()))
    }
}

/// Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Reads and parses `permissions.toml` of the crate being compiled: `None` when the file
/// does not exist (or `CARGO_MANIFEST_DIR` is unset, outside cargo), `Some(Err)` when it
/// exists but cannot be read or parsed.
pub(crate) fn load() -> Option<Result<Catalog, String>> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let path = std::path::Path::new(&dir).join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(Catalog::parse(&text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => Some(Err(format!("cannot read {}: {err}", path.display()))),
    }
}

/// `const _: &str = include_str!(".../permissions.toml");`: makes cargo rebuild the crate
/// when the catalog changes (the macros read it, but cargo does not know that).
pub(crate) fn rebuild_dependency() -> TokenStream {
    quote! {
        const _: &::core::primitive::str = ::core::include_str!(::core::concat!(
            ::core::env!("CARGO_MANIFEST_DIR"),
            "/permissions.toml"
        ));
    }
}

/// Expands `permission_catalog!()` (`input` is what is between the parentheses).
pub(crate) fn permission_catalog(input: TokenStream) -> TokenStream {
    if !input.is_empty() {
        return syn::Error::new_spanned(input, "`permission_catalog!()` takes no arguments")
            .to_compile_error();
    }
    let result = match load() {
        Some(catalog) => catalog,
        None => Err(format!(
            "{FILE_NAME} not found: `permission_catalog!()` reads {FILE_NAME} in the root of \
             the crate (beside Cargo.toml); create it with a [permissions] table of \
             \"code\" = \"description\" lines"
        )),
    };
    match result {
        Ok(catalog) => catalog_tokens(&catalog),
        Err(msg) => syn::Error::new(Span::call_site(), msg).to_compile_error(),
    }
}

/// The expansion of `permission_catalog!()` for a parsed catalog: a block holding the
/// rebuild dependency and evaluating to the sorted entries, typed
/// `&'static [(&'static str, &'static str)]`.
pub(crate) fn catalog_tokens(catalog: &Catalog) -> TokenStream {
    let rebuild = rebuild_dependency();
    let entries = catalog
        .entries()
        .map(|(code, description)| quote!((#code, #description)));
    quote! {
        {
            #rebuild
            const CATALOG: &[(&::core::primitive::str, &::core::primitive::str)] =
                &[#(#entries),*];
            CATALOG
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"
        [permissions]
        "article.create" = "Create articles"
        "article.delete" = "Delete articles"
        "users.read" = ""
    "#;

    #[test]
    fn a_valid_catalog_parses_sorted() {
        let catalog = Catalog::parse(TEXT).unwrap();
        let entries: Vec<_> = catalog.entries().collect();
        assert_eq!(
            entries,
            [
                ("article.create", "Create articles"),
                ("article.delete", "Delete articles"),
                ("users.read", ""),
            ]
        );
        assert_eq!(
            Catalog::parse("[permissions]\n").unwrap(),
            Catalog::default()
        );
    }

    #[test]
    fn lookup_and_suggestions() {
        let catalog = Catalog::parse(TEXT).unwrap();
        assert_eq!(catalog.check("article.create"), Ok(()));
        assert_eq!(
            catalog.check("article.craete").unwrap_err(),
            "permission `article.craete` is not declared in permissions.toml \
             (did you mean `article.create`?)"
        );
        assert_eq!(catalog.suggest("user.read"), Some("users.read"));
        assert_eq!(catalog.suggest("article.delet"), Some("article.delete"));
        assert_eq!(catalog.suggest("billing.refund"), None);
        // Four edits away: a different permission, not a typo.
        let without_delete = Catalog::parse("[permissions]\n\"article.create\" = \"\"").unwrap();
        assert_eq!(without_delete.suggest("article.delete"), None);
        assert_eq!(
            catalog.check("billing.refund").unwrap_err(),
            "permission `billing.refund` is not declared in permissions.toml: \
             declare it under [permissions]"
        );
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("article.craete", "article.create"), 2);
        assert_eq!(edit_distance("é.a", "e.a"), 1);
    }

    #[test]
    fn invalid_catalogs_are_errors() {
        let cases = [
            ("[permissions", "invalid permissions.toml"),
            ("", "no [permissions] table"),
            ("permissions = 1", "`permissions` must be a table"),
            (
                "[permissions]\n\"Article.create\" = \"x\"",
                "invalid permission `Article.create`",
            ),
            (
                "[permissions]\n\"article\" = \"x\"",
                "invalid permission `article`",
            ),
            (
                "[permissions]\n\"a.b\" = 1",
                "the description of `a.b` must be a string",
            ),
            ("[permission]\n\"a.b\" = \"x\"", "unknown key `permission`"),
            (
                "[permissions]\n\"a.b\" = \"x\"\n\"a.b\" = \"y\"",
                "invalid permissions.toml",
            ),
        ];
        for (text, expected) in cases {
            let err = Catalog::parse(text).unwrap_err();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
        // Every problem is listed.
        let err =
            Catalog::parse("[permissions]\n\"A.b\" = \"x\"\n\"c\" = 2\n[roles]\n").unwrap_err();
        assert!(
            err.contains("`A.b`") && err.contains("`c`") && err.contains("`roles`"),
            "{err}"
        );
    }

    #[test]
    fn the_catalog_expansion_is_a_sorted_static_slice() {
        let catalog = Catalog::parse(TEXT).unwrap();
        let tokens = catalog_tokens(&catalog);
        // It parses as a block expression...
        let block: syn::ExprBlock = syn::parse2(tokens.clone()).unwrap();
        assert_eq!(block.block.stmts.len(), 3);
        let text = tokens.to_string();
        // ...that depends on the file, so that cargo rebuilds when it changes...
        assert!(
            text.contains(
                ":: core :: include_str ! (:: core :: concat ! (:: core :: env ! \
                 (\"CARGO_MANIFEST_DIR\") , \"/permissions.toml\"))"
            ),
            "{text}"
        );
        // ...and evaluates to the entries in code order.
        assert!(
            text.contains(
                "& [(\"article.create\" , \"Create articles\") , \
                 (\"article.delete\" , \"Delete articles\") , (\"users.read\" , \"\")]"
            ),
            "{text}"
        );
        let empty = catalog_tokens(&Catalog::default()).to_string();
        assert!(empty.contains("= & [] ;"), "{empty}");
    }

    #[test]
    fn permission_catalog_takes_no_arguments() {
        let out = permission_catalog(quote!(x)).to_string();
        assert!(out.contains("takes no arguments"), "{out}");
    }
}
