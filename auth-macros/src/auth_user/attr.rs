//! Parsing of `#[auth(...)]` attributes, on the struct and on its fields.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;

use super::Ctxt;

/// A role a field plays in the user model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The `i64` primary key.
    Id,
    /// The unique login name.
    Account,
    /// The password hash.
    Password,
    /// The e-mail address.
    Email,
    /// The superuser flag.
    Superuser,
    /// The active flag.
    Active,
    /// The e-mail verified flag.
    Verified,
    /// The last login time.
    LastLogin,
    /// The account creation time.
    DateJoined,
}

impl Role {
    /// Every role, in a fixed order.
    pub(super) const ALL: [Role; 9] = [
        Role::Id,
        Role::Account,
        Role::Password,
        Role::Email,
        Role::Superuser,
        Role::Active,
        Role::Verified,
        Role::LastLogin,
        Role::DateJoined,
    ];

    /// The attribute key that claims this role: `#[auth(<key>)]`.
    pub(super) fn key(self) -> &'static str {
        match self {
            Role::Id => "id",
            Role::Account => "account",
            Role::Password => "password",
            Role::Email => "email",
            Role::Superuser => "superuser",
            Role::Active => "active",
            Role::Verified => "verified",
            Role::LastLogin => "last_login",
            Role::DateJoined => "date_joined",
        }
    }

    /// The field name that plays this role when no field claims it by attribute.
    pub(super) fn conventional_name(self) -> &'static str {
        match self {
            Role::Id => "id",
            Role::Account => "account",
            Role::Password => "password",
            Role::Email => "email",
            Role::Superuser => "is_superuser",
            Role::Active => "is_active",
            Role::Verified => "is_verified",
            Role::LastLogin => "last_login",
            Role::DateJoined => "date_joined",
        }
    }

    /// Whether a model must have a field playing this role.
    pub(super) fn required(self) -> bool {
        matches!(self, Role::Id | Role::Account | Role::Password)
    }

    fn from_key(key: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.key() == key)
    }
}

/// Keys accepted in a field's `#[auth(...)]`, for error messages.
const FIELD_KEYS: &str = "id, account, password, email, superuser, active, verified, \
                          last_login, date_joined, max_length = N, unique";
/// Keys accepted in the struct's `#[auth(...)]`, for error messages.
const CONTAINER_KEYS: &str = "table = \"name\", crate = \"path\"";

/// `#[auth(...)]` on the struct.
#[derive(Default)]
pub(super) struct ContainerAttrs {
    /// `table = "name"`: the table name and the literal's span.
    pub table: Option<(String, Span)>,
    /// `crate = "path"`: path of the `auth-axum` crate in generated code.
    pub krate: Option<syn::Path>,
}

/// `#[auth(...)]` on one field.
#[derive(Default)]
pub(super) struct FieldAttrs {
    /// Roles claimed, each with the span of its key (validation allows at most one).
    pub roles: Vec<(Role, Span)>,
    /// `max_length = N` and the span of the key.
    pub max_length: Option<(u32, Span)>,
    /// `unique`: the span of the key.
    pub unique: Option<Span>,
}

/// Calls `f` for every `key` / `key = value` item of every `#[auth(...)]` in `attrs`,
/// recording errors in `cx` and going on with the next item (or attribute) after one.
fn for_each_item(
    cx: &Ctxt,
    attrs: &[syn::Attribute],
    mut f: impl FnMut(&ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("auth")) {
        if !matches!(attr.meta, syn::Meta::List(_)) {
            cx.error_spanned(attr, "expected `#[auth(...)]`");
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            if let Err(err) = f(&meta) {
                cx.push(err);
                skip_value(&meta)?;
            }
            Ok(())
        });
        if let Err(err) = result {
            cx.push(err);
        }
    }
}

/// Consumes what follows a key that was rejected (`= value` or `(...)`), so that parsing
/// goes on with the next key.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _content;
        syn::parenthesized!(_content in meta.input);
    }
    Ok(())
}

/// The single identifier of an item's key, for matching and messages.
fn key_name(meta: &ParseNestedMeta<'_>) -> String {
    match meta.path.get_ident() {
        Some(ident) => ident.to_string(),
        None => {
            let path = &meta.path;
            quote::quote!(#path).to_string().replace(' ', "")
        }
    }
}

/// The string literal after `key =`; `example` shows the expected form in the error.
fn string_value(meta: &ParseNestedMeta<'_>, example: &str) -> syn::Result<syn::LitStr> {
    let expr: syn::Expr = meta.value()?.parse()?;
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(lit),
            ..
        }) => Ok(lit),
        other => Err(syn::Error::new_spanned(
            other,
            format_args!("expected a string literal, as in `#[auth({example})]`"),
        )),
    }
}

/// Errors unless the key stands alone (no `= value`, no `(...)`).
fn expect_flag(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format_args!(
            "`{key}` takes no value: write `#[auth({key})]`"
        )));
    }
    Ok(())
}

impl ContainerAttrs {
    /// Parses the struct's `#[auth(...)]` attributes.
    pub(super) fn parse(cx: &Ctxt, attrs: &[syn::Attribute]) -> ContainerAttrs {
        let mut out = ContainerAttrs::default();
        for_each_item(cx, attrs, |meta| {
            let key = key_name(meta);
            match key.as_str() {
                "table" => {
                    let lit = string_value(meta, "table = \"users\"")?;
                    if out.table.is_some() {
                        return Err(meta.error("duplicate `table` attribute"));
                    }
                    let name = lit.value();
                    // Exactly one plain identifier (no surrounding spaces, no `r#`), so
                    // that `Ident::new` accepts it during expansion.
                    let is_ident = syn::parse_str::<syn::Ident>(&name)
                        .is_ok_and(|ident| ident == name.as_str() && !name.starts_with("r#"))
                        && name != "gen";
                    if !is_ident {
                        return Err(syn::Error::new(
                            lit.span(),
                            format_args!(
                                "invalid table name {name:?}: it names the generated Diesel \
                                 module, so it must be a Rust identifier that is not a keyword"
                            ),
                        ));
                    }
                    out.table = Some((name, lit.span()));
                }
                "crate" => {
                    let lit = string_value(meta, "crate = \"::auth_axum\"")?;
                    if out.krate.is_some() {
                        return Err(meta.error("duplicate `crate` attribute"));
                    }
                    let path = lit.parse::<syn::Path>().map_err(|_| {
                        syn::Error::new(
                            lit.span(),
                            "expected the path of the auth-axum crate, such as \"::auth_axum\"",
                        )
                    })?;
                    out.krate = Some(path);
                }
                _ if Role::from_key(&key).is_some() || key == "max_length" || key == "unique" => {
                    return Err(meta.error(format_args!(
                        "`{key}` belongs on a field: the struct accepts {CONTAINER_KEYS}"
                    )));
                }
                _ => {
                    return Err(meta.error(format_args!(
                        "unknown attribute `{key}`: the struct accepts {CONTAINER_KEYS}"
                    )));
                }
            }
            Ok(())
        });
        out
    }
}

impl FieldAttrs {
    /// Parses one field's `#[auth(...)]` attributes.
    pub(super) fn parse(cx: &Ctxt, attrs: &[syn::Attribute]) -> FieldAttrs {
        let mut out = FieldAttrs::default();
        for_each_item(cx, attrs, |meta| {
            let key = key_name(meta);
            if let Some(role) = Role::from_key(&key) {
                expect_flag(meta, &key)?;
                out.roles.push((role, meta.path.span()));
                return Ok(());
            }
            match key.as_str() {
                "max_length" => {
                    let span = meta.path.span();
                    let value = meta.value()?;
                    let expr: syn::Expr = value.parse()?;
                    let n = match &expr {
                        syn::Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Int(int),
                            ..
                        }) => int.base10_parse::<u32>().ok().filter(|n| *n > 0),
                        _ => None,
                    };
                    let Some(n) = n else {
                        return Err(syn::Error::new_spanned(
                            &expr,
                            "`max_length` must be a positive integer, such as `max_length = 100`",
                        ));
                    };
                    if out.max_length.is_some() {
                        return Err(syn::Error::new(span, "duplicate `max_length` attribute"));
                    }
                    out.max_length = Some((n, span));
                }
                "unique" => {
                    expect_flag(meta, &key)?;
                    if out.unique.is_some() {
                        return Err(meta.error("duplicate `unique` attribute"));
                    }
                    out.unique = Some(meta.path.span());
                }
                "table" | "crate" => {
                    return Err(meta.error(format_args!(
                        "`{key}` belongs on the struct: a field accepts {FIELD_KEYS}"
                    )));
                }
                _ => {
                    return Err(meta.error(format_args!(
                        "unknown attribute `{key}`: a field accepts {FIELD_KEYS}"
                    )));
                }
            }
            Ok(())
        });
        out
    }
}
