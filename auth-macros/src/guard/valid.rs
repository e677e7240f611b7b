//! Validation: what the strings say (permission and role names, the scope parameter,
//! membership in the permission catalog) and whether the item can be a guarded handler.

use proc_macro2::Span;

use super::Kind;
use super::parse::{Args, Rule};
use crate::catalog::{self, Catalog, PERMISSION_RULE};
use crate::ctxt::Ctxt;

/// The longest role name accepted (the roles table's name column).
const MAX_ROLE_LEN: usize = 150;

/// What a validated guard requires.
pub(super) enum Requirement {
    /// `#[login_required]`.
    Login,
    /// `#[permission_required(...)]`: several top-level rules are one [`Rule::All`].
    Permission(Rule),
    /// `#[role_required(...)]`: any of these roles.
    Role(Vec<syn::LitStr>),
}

/// A validated guard attribute.
pub(super) struct Guard {
    /// Which guard.
    pub kind: Kind,
    /// What it requires.
    pub requirement: Requirement,
    /// The path parameter naming the scope, if any.
    pub scope: Option<syn::LitStr>,
    /// Path of the `auth-axum` crate (`::auth_axum` unless overridden).
    pub krate: syn::Path,
    /// Whether the crate has a `permissions.toml` the expansion must depend on.
    pub uses_catalog: bool,
    /// `mfa`: a second factor is required.
    pub mfa: bool,
    /// `fresh = ".."`, in seconds.
    pub fresh: Option<u64>,
}

/// Where the guard goes in the handler's arguments.
pub(super) enum Join {
    /// Into a tuple with the argument at this index: the first one that is not a
    /// `State<..>` (see the macro docs).
    Wrap(usize),
    /// As a new first argument: the handler has no argument, or only `State`s.
    Insert,
}

/// A validated handler.
pub(super) struct Handler {
    /// The function, unchanged.
    pub item: syn::ItemFn,
    /// Where its guard goes.
    pub join: Join,
}

impl Guard {
    /// Validates the parsed arguments. `catalog` is the crate's `permissions.toml`: `None`
    /// when there is none (then any well-formed permission is accepted).
    pub(super) fn new(
        cx: &Ctxt,
        args: Args,
        catalog: Option<Result<Catalog, String>>,
    ) -> Option<Guard> {
        let Args {
            kind,
            mut rules,
            roles,
            scope,
            krate,
            mfa,
            fresh,
            rejected,
        } = args;
        let requirement = match kind {
            Kind::Login => Requirement::Login,
            Kind::Permission => {
                let catalog = match &catalog {
                    Some(Ok(catalog)) => Some(catalog),
                    Some(Err(msg)) => {
                        cx.error_at(Span::call_site(), msg);
                        None
                    }
                    None => None,
                };
                rules.iter().for_each(|rule| check_rule(cx, rule, catalog));
                let rule = match rules.len() {
                    0 if rejected => return None,
                    0 => {
                        cx.error_at(
                            Span::call_site(),
                            "#[permission_required] needs at least one permission, as in \
                             #[permission_required(\"article.create\")]",
                        );
                        return None;
                    }
                    1 => rules.pop()?,
                    _ => Rule::All(rules, proc_macro2::TokenStream::new()),
                };
                Requirement::Permission(rule)
            }
            Kind::Role => {
                if roles.is_empty() && !rejected {
                    cx.error_at(
                        Span::call_site(),
                        "#[role_required] needs at least one role, as in \
                         #[role_required(\"admin\")]",
                    );
                }
                roles.iter().for_each(|role| check_role(cx, role));
                Requirement::Role(roles)
            }
        };
        if let Some(scope) = &scope {
            check_scope(cx, scope);
        }
        Some(Guard {
            kind,
            requirement,
            scope,
            krate: krate.unwrap_or_else(|| syn::parse_quote!(::auth_axum)),
            uses_catalog: kind == Kind::Permission && catalog.is_some(),
            mfa,
            fresh,
        })
    }
}

/// Checks every permission of a rule, and that `any()` / `all()` are not empty.
fn check_rule(cx: &Ctxt, rule: &Rule, catalog: Option<&Catalog>) {
    match rule {
        Rule::Permission(lit) => {
            let code = lit.value();
            if !catalog::is_valid_permission(&code) {
                cx.error_spanned(
                    lit,
                    format_args!("invalid permission {code:?}: expected {PERMISSION_RULE}"),
                );
            } else if let Some(Err(msg)) = catalog.map(|c| c.check(&code)) {
                cx.error_spanned(lit, msg);
            }
        }
        Rule::All(rules, call) | Rule::Any(rules, call) => {
            if rules.is_empty() {
                let name = if matches!(rule, Rule::All(..)) {
                    "all"
                } else {
                    "any"
                };
                cx.error_spanned(
                    call,
                    format_args!("`{name}()` needs at least one permission or rule"),
                );
            }
            rules.iter().for_each(|r| check_rule(cx, r, catalog));
        }
    }
}

/// A role name: not empty, no control character, at most [`MAX_ROLE_LEN`] characters.
fn check_role(cx: &Ctxt, lit: &syn::LitStr) {
    let name = lit.value();
    let problem = if name.is_empty() {
        "a role name cannot be empty"
    } else if name.chars().any(char::is_control) {
        "a role name cannot contain control characters"
    } else if name.chars().count() > MAX_ROLE_LEN {
        "a role name has at most 150 characters"
    } else {
        return;
    };
    cx.error_spanned(lit, format_args!("invalid role name {name:?}: {problem}"));
}

/// A path parameter name: not empty, without spaces, control characters or `/{}*:`.
fn check_scope(cx: &Ctxt, lit: &syn::LitStr) {
    let name = lit.value();
    let bad = |c: char| c.is_whitespace() || c.is_control() || "/{}*:".contains(c);
    if name.is_empty() || name.chars().any(bad) {
        cx.error_spanned(
            lit,
            format_args!(
                "invalid scope {name:?}: expected the name of a path parameter of the route, \
                 as in `scope = \"project_id\"` for \"/projects/{{project_id}}/...\""
            ),
        );
    }
}

impl Handler {
    /// Checks that `item` can take a guard: an `async fn` without `self`, whose joined
    /// argument has no `#[cfg]`.
    pub(super) fn new(cx: &Ctxt, kind: Kind, item: syn::ItemFn) -> Option<Handler> {
        let name = kind.name();
        let mut ok = true;
        if item.sig.asyncness.is_none() {
            ok = false;
            cx.error_spanned(
                item.sig.fn_token,
                format_args!("#[{name}] applies to `async fn` handlers: add `async`"),
            );
        }
        let mut join = Join::Insert;
        for (index, arg) in item.sig.inputs.iter().enumerate() {
            match arg {
                syn::FnArg::Receiver(receiver) => {
                    cx.error_spanned(
                        receiver,
                        format_args!(
                            "#[{name}] applies to free functions: a handler cannot take `self`"
                        ),
                    );
                    return None;
                }
                syn::FnArg::Typed(arg) => {
                    if matches!(join, Join::Insert) && !is_state(&arg.ty) {
                        join = Join::Wrap(index);
                        if let Some(cfg) = arg
                            .attrs
                            .iter()
                            .find(|a| a.path().is_ident("cfg") || a.path().is_ident("cfg_attr"))
                        {
                            ok = false;
                            cx.error_spanned(
                                cfg,
                                format_args!(
                                    "#[{name}] puts its guard in this argument, so a \
                                     `#[cfg]` here could remove the guard: move this argument \
                                     after one without `#[cfg]`"
                                ),
                            );
                        }
                    }
                }
            }
        }
        ok.then_some(Handler { item, join })
    }
}

/// Whether `ty` is axum's `State<T>` (by its last path segment, as `#[axum::debug_handler]`
/// recognises it).
fn is_state(ty: &syn::Type) -> bool {
    let syn::Type::Path(path) = ty else {
        return false;
    };
    path.qself.is_none()
        && path.path.segments.last().is_some_and(|last| {
            last.ident == "State" && matches!(last.arguments, syn::PathArguments::AngleBracketed(_))
        })
}
