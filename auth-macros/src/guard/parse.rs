//! Parsing of the guard attributes' arguments and of the item they are placed on.
//!
//! Parsing checks syntax only (known functions and keys, string literals, no duplicates);
//! what the strings say is checked in [`super::valid`].

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::punctuated::Punctuated;

use super::Kind;
use crate::ctxt::Ctxt;

/// A permission rule as written, with the literals' spans.
pub(super) enum Rule {
    /// `"article.create"`.
    Permission(syn::LitStr),
    /// `all(...)`, or several rules at the top level, with the tokens of the call, for
    /// error spans (empty at the top level).
    All(Vec<Rule>, TokenStream),
    /// `any(...)`, with the tokens of the call.
    Any(Vec<Rule>, TokenStream),
}

/// The arguments of one guard attribute.
pub(super) struct Args {
    /// Which guard.
    pub kind: Kind,
    /// The rule of `#[permission_required]`: several top-level rules are an [`Rule::All`],
    /// empty when none was given.
    pub rules: Vec<Rule>,
    /// The roles of `#[role_required]`.
    pub roles: Vec<syn::LitStr>,
    /// `scope = "param"` (`#[permission_required]` only).
    pub scope: Option<syn::LitStr>,
    /// `crate = "path"`: path of the `auth-axum` crate in generated code.
    pub krate: Option<syn::Path>,
    /// `mfa`: the session must have passed a second factor.
    pub mfa: bool,
    /// `fresh = "10m"`: the session's last proof of identity must be at most this many
    /// seconds old.
    pub fresh: Option<u64>,
    /// Whether a permission or role was rejected (so an empty list is not reported too).
    pub rejected: bool,
}

/// What each guard accepts, for error messages.
fn accepted(kind: Kind) -> &'static str {
    match kind {
        Kind::Login => "`mfa`, `fresh = \"10m\"` and `crate = \"path\"`",
        Kind::Permission => {
            "permission strings, `any(...)`, `all(...)`, `scope = \"param\"`, `mfa`, \
             `fresh = \"10m\"` and `crate = \"path\"`"
        }
        Kind::Role => "role names, `mfa`, `fresh = \"10m\"` and `crate = \"path\"`",
    }
}

impl Args {
    /// Parses the attribute's arguments (the tokens between its parentheses), recording
    /// every problem in `cx`.
    pub(super) fn parse(cx: &Ctxt, kind: Kind, tokens: TokenStream) -> Args {
        let mut args = Args {
            kind,
            rules: Vec::new(),
            roles: Vec::new(),
            scope: None,
            krate: None,
            mfa: false,
            fresh: None,
            rejected: false,
        };
        let parser = Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        let exprs = match syn::parse::Parser::parse2(parser, tokens) {
            Ok(exprs) => exprs,
            Err(err) => {
                cx.push(err);
                args.rejected = true;
                return args;
            }
        };
        for expr in exprs {
            match expr {
                syn::Expr::Assign(assign) => args.key_value(cx, &assign),
                syn::Expr::Path(path) if path.path.is_ident("mfa") && path.qself.is_none() => {
                    if args.mfa {
                        cx.error_spanned(&path, "duplicate `mfa`");
                    }
                    args.mfa = true;
                }
                syn::Expr::Path(path) if kind == Kind::Login && path.path.get_ident().is_some() => {
                    cx.error_spanned(
                        &path,
                        format_args!(
                            "unknown option `{}`: #[login_required] accepts {}",
                            path.path
                                .get_ident()
                                .map(|i| i.to_string())
                                .unwrap_or_default(),
                            accepted(kind)
                        ),
                    )
                }
                expr => match kind {
                    Kind::Login => cx.error_spanned(
                        &expr,
                        "#[login_required] takes no permission or role: to require one, use \
                         #[permission_required(\"...\")] or #[role_required(\"...\")]; it \
                         accepts `mfa`, `fresh = \"10m\"` and `crate = \"path\"`",
                    ),
                    Kind::Permission => match parse_rule(cx, &expr) {
                        Some(rule) => args.rules.push(rule),
                        None => args.rejected = true,
                    },
                    Kind::Role => {
                        match string_literal(cx, &expr, "a role name such as \"admin\"") {
                            Some(lit) => args.roles.push(lit),
                            None => args.rejected = true,
                        }
                    }
                },
            }
        }
        args
    }

    /// `key = value`.
    fn key_value(&mut self, cx: &Ctxt, assign: &syn::ExprAssign) {
        let key = match &*assign.left {
            syn::Expr::Path(path) if path.qself.is_none() && path.path.segments.len() == 1 => {
                path.path.segments[0].ident.to_string()
            }
            other => {
                cx.error_spanned(
                    other,
                    format_args!(
                        "expected a key: #[{}] accepts {}",
                        self.kind.name(),
                        accepted(self.kind)
                    ),
                );
                return;
            }
        };
        let key_tokens = &assign.left;
        match key.as_str() {
            "scope" if self.kind == Kind::Permission => {
                let Some(lit) = string_literal(
                    cx,
                    &assign.right,
                    "the name of a path parameter, as in `scope = \"project_id\"`",
                ) else {
                    return;
                };
                if self.scope.is_some() {
                    cx.error_spanned(key_tokens, "duplicate `scope`");
                } else {
                    self.scope = Some(lit);
                }
            }
            "scope" => cx.error_spanned(
                key_tokens,
                format_args!(
                    "`scope` applies only to #[permission_required]: #[{}] accepts {}",
                    self.kind.name(),
                    accepted(self.kind)
                ),
            ),
            "fresh" => {
                let Some(lit) = string_literal(
                    cx,
                    &assign.right,
                    "a duration such as \"10m\" or \"1h 30m\"",
                ) else {
                    return;
                };
                let seconds = match humantime::parse_duration(&lit.value()) {
                    Ok(d) if d.as_secs() >= 1 => d.as_secs(),
                    Ok(_) => {
                        cx.error_spanned(&lit, "`fresh` must be at least one second");
                        return;
                    }
                    Err(e) => {
                        cx.error_spanned(
                            &lit,
                            format_args!(
                                "invalid duration ({e}): expected a duration such as \"10m\" \
                                 or \"1h 30m\""
                            ),
                        );
                        return;
                    }
                };
                if self.fresh.is_some() {
                    cx.error_spanned(key_tokens, "duplicate `fresh`");
                } else {
                    self.fresh = Some(seconds);
                }
            }
            "mfa" => cx.error_spanned(
                key_tokens,
                "`mfa` takes no value: write `mfa` alone to require a second factor",
            ),
            "crate" => {
                let Some(lit) = string_literal(
                    cx,
                    &assign.right,
                    "the path of the auth-axum crate, as in `crate = \"::auth_axum\"`",
                ) else {
                    return;
                };
                let Ok(path) = lit.parse::<syn::Path>() else {
                    cx.error_spanned(
                        &lit,
                        "expected the path of the auth-axum crate, such as \"::auth_axum\"",
                    );
                    return;
                };
                if self.krate.is_some() {
                    cx.error_spanned(key_tokens, "duplicate `crate`");
                } else {
                    self.krate = Some(path);
                }
            }
            _ => cx.error_spanned(
                key_tokens,
                format_args!(
                    "unknown key `{key}`: #[{}] accepts {}",
                    self.kind.name(),
                    accepted(self.kind)
                ),
            ),
        }
    }
}

/// A string literal, or an error saying that `what` was expected.
fn string_literal(cx: &Ctxt, expr: &syn::Expr, what: &str) -> Option<syn::LitStr> {
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(lit),
            ..
        }) => Some(lit.clone()),
        syn::Expr::Lit(other) => {
            cx.error_spanned(other, format_args!("expected a string literal: {what}"));
            None
        }
        other => {
            cx.error_spanned(other, format_args!("expected {what}"));
            None
        }
    }
}

/// One permission rule: a string, `any(...)` or `all(...)`.
fn parse_rule(cx: &Ctxt, expr: &syn::Expr) -> Option<Rule> {
    const EXPECTED: &str =
        "a permission string such as \"article.create\", or `any(...)` / `all(...)`";
    let syn::Expr::Call(call) = expr else {
        return string_literal(cx, expr, EXPECTED).map(Rule::Permission);
    };
    let name = match &*call.func {
        syn::Expr::Path(path) if path.qself.is_none() => {
            path.path.get_ident().map(|i| i.to_string())
        }
        _ => None,
    };
    let make: fn(Vec<Rule>, TokenStream) -> Rule = match name.as_deref() {
        Some("any") => Rule::Any,
        Some("all") => Rule::All,
        Some(other) => {
            cx.error_spanned(
                &call.func,
                format_args!("unknown function `{other}`: expected `any(...)` or `all(...)`"),
            );
            return None;
        }
        None => {
            cx.error_spanned(&call.func, "expected `any(...)` or `all(...)`");
            return None;
        }
    };
    let rules: Vec<Rule> = call
        .args
        .iter()
        .filter_map(|arg| parse_rule(cx, arg))
        .collect();
    // An argument that failed to parse was reported; do not also report the list as empty.
    if rules.len() < call.args.len() {
        return None;
    }
    Some(make(rules, call.to_token_stream()))
}

/// Parses the item the attribute is on: an `fn` with a body, or an error at the item.
pub(super) fn parse_item(cx: &Ctxt, kind: Kind, item: TokenStream) -> Option<syn::ItemFn> {
    if let Ok(item_fn) = syn::parse2::<syn::ItemFn>(item.clone()) {
        return Some(item_fn);
    }
    let msg = format!(
        "#[{}] applies to an `async fn` handler (a free function)",
        kind.name()
    );
    // Point at the item's head (`struct Foo`, `mod m`, ...) rather than at all of it.
    let head = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(item) => item_head(&item),
        Err(_) => None,
    };
    match head {
        Some(head) => cx.error_spanned(head, msg),
        None if item.is_empty() => cx.error_at(Span::call_site(), msg),
        None => cx.error_spanned(item, msg),
    }
    None
}

/// The keyword and name of an item, for error spans.
fn item_head(item: &syn::Item) -> Option<TokenStream> {
    Some(match item {
        syn::Item::Struct(i) => head(&i.struct_token, &i.ident),
        syn::Item::Enum(i) => head(&i.enum_token, &i.ident),
        syn::Item::Union(i) => head(&i.union_token, &i.ident),
        syn::Item::Mod(i) => head(&i.mod_token, &i.ident),
        syn::Item::Trait(i) => head(&i.trait_token, &i.ident),
        syn::Item::Type(i) => head(&i.type_token, &i.ident),
        syn::Item::Const(i) => head(&i.const_token, &i.ident),
        syn::Item::Static(i) => head(&i.static_token, &i.ident),
        syn::Item::Impl(i) => head(&i.impl_token, &i.self_ty),
        syn::Item::Use(i) => i.use_token.to_token_stream(),
        syn::Item::ForeignMod(i) => i.abi.to_token_stream(),
        _ => return None,
    })
}

/// Two items' tokens, one after the other.
fn head(a: &impl ToTokens, b: &impl ToTokens) -> TokenStream {
    let mut out = a.to_token_stream();
    b.to_tokens(&mut out);
    out
}
