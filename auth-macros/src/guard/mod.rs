//! The guard attributes `#[login_required]`, `#[permission_required(...)]` and
//! `#[role_required(...)]`: parse (arguments and item), validate (names, catalog, handler
//! shape), then expand (requirement type, registration, guarded handler).
//!
//! Every phase records its errors in a [`Ctxt`]; on any error the item is re-emitted
//! unchanged beside the `compile_error!`s, so that the only errors are the guard's.

mod expand;
mod parse;
mod valid;

use std::hash::{Hash, Hasher};

use proc_macro2::TokenStream;

use crate::catalog::{self, Catalog};
use crate::ctxt::Ctxt;

/// Which guard attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[login_required]`.
    Login,
    /// `#[permission_required(...)]`.
    Permission,
    /// `#[role_required(...)]`.
    Role,
}

impl Kind {
    /// The attribute's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Login => "login_required",
            Kind::Permission => "permission_required",
            Kind::Role => "role_required",
        }
    }
}

/// Expands a guard attribute: `attr` is its arguments, `item` the item it is on. Reads the
/// crate's `permissions.toml` for `#[permission_required]`.
pub(crate) fn expand(kind: Kind, attr: TokenStream, item: TokenStream) -> TokenStream {
    let catalog = || match kind {
        Kind::Permission => catalog::load(),
        Kind::Login | Kind::Role => None,
    };
    expand_with(kind, attr, item, catalog)
}

/// [`expand`] with the catalog given by `catalog` (called at most once).
fn expand_with(
    kind: Kind,
    attr: TokenStream,
    item: TokenStream,
    catalog: impl FnOnce() -> Option<Result<Catalog, String>>,
) -> TokenStream {
    let id = unique_id(kind, &attr, &item);
    let cx = Ctxt::default();
    let args = parse::Args::parse(&cx, kind, attr);
    let handler = parse::parse_item(&cx, kind, item.clone());
    let guard = valid::Guard::new(&cx, args, catalog());
    let handler = handler.and_then(|item| valid::Handler::new(&cx, kind, item));
    match (cx.finish(), guard, handler) {
        (Ok(()), Some(guard), Some(handler)) => expand::expand(&guard, handler, id),
        (Err(err), ..) => {
            let errors = err.to_compile_error();
            quote::quote!(#errors #item)
        }
        // Unreachable in practice: a phase that returns `None` records an error first.
        (Ok(()), ..) => {
            let err = syn::Error::new(
                proc_macro2::Span::call_site(),
                format_args!("cannot expand #[{}]", kind.name()),
            )
            .to_compile_error();
            quote::quote!(#err #item)
        }
    }
}

/// A hash of the attribute and the item: the suffix that keeps the requirement types of
/// guards in one module apart. Stacked guards differ because each sees the item as the
/// previous one left it. Deterministic, unlike a counter, which also keeps rust-analyzer's
/// per-item expansion consistent with rustc's.
fn unique_id(kind: Kind, attr: &TokenStream, item: &TokenStream) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    kind.name().hash(&mut hasher);
    attr.to_string().hash(&mut hasher);
    item.to_string().hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use super::{Kind, expand_with};
    use crate::catalog::Catalog;

    /// Expands without a catalog.
    fn run(kind: Kind, attr: TokenStream, item: TokenStream) -> String {
        expand_with(kind, attr, item, || None).to_string()
    }

    /// The `compile_error!` messages of an expansion.
    fn errors(out: &str) -> Vec<String> {
        out.split("compile_error !")
            .skip(1)
            .map(|e| e.trim_start_matches([' ', '{', '(']).to_owned())
            .map(|e| e.split("\" }").next().unwrap_or_default().to_owned())
            .collect()
    }

    fn handler() -> TokenStream {
        quote! {
            pub async fn create(user: CurrentUser<User>, Json(a): Json<A>) -> R { body() }
        }
    }

    #[test]
    fn permission_required_expands_to_a_spec_and_a_guarded_handler() {
        let out = run(Kind::Permission, quote!("article.create"), handler());
        assert!(!out.contains("compile_error"), "{out}");
        let ident = out
            .split_whitespace()
            .find(|w| w.starts_with("__auth_req_create_"))
            .unwrap();
        for expected in [
            format!("pub struct {ident} ;"),
            format!("impl :: auth_axum :: __private :: GuardSpec for {ident}"),
            "handler : \"create\" , module : :: core :: module_path ! ()".to_owned(),
            "requirement : :: auth_axum :: __private :: Requirement :: Permission (:: auth_axum \
             :: __private :: Rule :: Permission (\"article.create\"))"
                .to_owned(),
            "scope_param : :: core :: option :: Option :: None".to_owned(),
            format!(
                ":: auth_axum :: __private :: inventory :: submit ! {{ :: auth_axum :: __private \
                 :: AccessEntry (< {ident} as :: auth_axum :: __private :: GuardSpec > :: SPEC) }}"
            ),
            format!(
                "pub async fn create ((_ , user) : (:: auth_axum :: __private :: Guard < {ident} \
                 > , CurrentUser < User >) , Json (a) : Json < A >) -> R {{ body () }}"
            ),
        ] {
            assert!(out.contains(&expected), "missing {expected}\nin {out}");
        }
        assert!(!out.contains("include_str"), "{out}");
    }

    #[test]
    fn rules_roles_scope_and_crate() {
        let out = run(
            Kind::Permission,
            quote!(
                "a.b",
                any("c.d", all("e.f", r"g.h")),
                scope = "project_id",
                crate = "my::auth"
            ),
            handler(),
        );
        assert!(!out.contains("compile_error"), "{out}");
        assert!(
            out.contains(
                "Requirement :: Permission (my :: auth :: __private :: Rule :: All (& [my :: auth \
                 :: __private :: Rule :: Permission (\"a.b\") , my :: auth :: __private :: Rule :: \
                 Any (& [my :: auth :: __private :: Rule :: Permission (\"c.d\") , my :: auth :: \
                 __private :: Rule :: All (& [my :: auth :: __private :: Rule :: Permission \
                 (\"e.f\") , my :: auth :: __private :: Rule :: Permission (\"g.h\")])])]))"
            ),
            "{out}"
        );
        assert!(out.contains("Option :: Some (\"project_id\")"), "{out}");
        assert!(!out.contains("auth_axum"), "{out}");

        let out = run(Kind::Role, quote!("admin", "editor"), handler());
        assert!(
            out.contains("Requirement :: Role (& [\"admin\" , \"editor\"])"),
            "{out}"
        );
        let out = run(Kind::Login, quote!(), handler());
        assert!(out.contains("Requirement :: Login"), "{out}");
    }

    #[test]
    fn the_guard_skips_state_and_is_inserted_when_there_is_nothing_to_join() {
        let out = run(
            Kind::Login,
            quote!(),
            quote!(
                async fn f(State(s): State<S>, Path(id): Path<u64>) {}
            ),
        );
        assert!(
            out.contains("async fn f (State (s) : State < S > , (_ , Path (id)) : (:: auth_axum"),
            "{out}"
        );
        for item in [
            quote!(
                async fn f() {}
            ),
            quote!(
                async fn f(s: State<S>) {}
            ),
        ] {
            let out = run(Kind::Login, quote!(), item);
            assert!(
                out.contains("async fn f (_ : :: auth_axum :: __private :: Guard <"),
                "{out}"
            );
        }
    }

    /// The handler in an expansion (the last item).
    fn fn_of(out: &str) -> TokenStream {
        let start = out
            .rfind("pub async fn")
            .or_else(|| out.rfind("async fn"))
            .unwrap();
        out[start..].parse().unwrap()
    }

    #[test]
    fn stacked_guards_run_in_written_order() {
        // The outer attribute expands first, and the inner one sees the function it output.
        let first = run(Kind::Login, quote!(), handler());
        let out = expand_with(Kind::Role, quote!("admin"), fn_of(&first), || None).to_string();
        let out = format!("{first} {out}");
        let idents: Vec<&str> = out
            .split_whitespace()
            .filter(|w| w.starts_with("__auth_req_create_"))
            .collect();
        let login = idents[0];
        let role = idents.iter().find(|i| **i != login).unwrap();
        assert!(
            out.contains(&format!(
                "((_ , (_ , user)) : (:: auth_axum :: __private :: Guard < {login} > , (:: \
                 auth_axum :: __private :: Guard < {role} > , CurrentUser < User >)) ,"
            )),
            "{out}"
        );

        let first = run(
            Kind::Login,
            quote!(),
            quote!(
                async fn f() {}
            ),
        );
        let out = expand_with(Kind::Role, quote!("a"), fn_of(&first), || None).to_string();
        assert!(out.contains("async fn f ((_ , _) : (:: auth_axum"), "{out}");
    }

    #[test]
    fn the_catalog_is_checked_and_depended_on() {
        let catalog = || {
            Some(Catalog::parse(
                "[permissions]\n\"article.create\" = \"x\"\n",
            ))
        };
        let out = expand_with(
            Kind::Permission,
            quote!("article.create"),
            handler(),
            catalog,
        )
        .to_string();
        assert!(!out.contains("compile_error"), "{out}");
        assert!(out.contains(":: core :: include_str !"), "{out}");

        let out = expand_with(
            Kind::Permission,
            quote!(any("article.craete", "a.b")),
            handler(),
            catalog,
        )
        .to_string();
        assert_eq!(
            errors(&out),
            [
                "\"permission `article.craete` is not declared in permissions.toml (did you \
                 mean `article.create`?)",
                "\"permission `a.b` is not declared in permissions.toml: declare it under \
                 [permissions]",
            ],
            "{out}"
        );

        let out = expand_with(Kind::Permission, quote!("a.b"), handler(), || {
            Some(Err("cannot read permissions.toml".into()))
        })
        .to_string();
        assert_eq!(errors(&out), ["\"cannot read permissions.toml"], "{out}");

        // Only permission guards read the catalog.
        let out = super::expand(Kind::Role, quote!("admin"), handler()).to_string();
        assert!(!out.contains("include_str"), "{out}");
    }

    #[test]
    fn every_error_is_reported_and_the_item_is_kept() {
        let out = run(
            Kind::Permission,
            quote!(
                "Bad",
                any(),
                either("a.b"),
                1,
                scop = "x",
                scope = "a",
                scope = "b"
            ),
            quote!(
                fn create(&self) {}
            ),
        );
        let errs = errors(&out);
        assert_eq!(errs.len(), 8, "{errs:#?}");
        assert!(out.ends_with("fn create (& self) { }"), "{out}");
    }

    #[test]
    fn odd_input_is_an_error_not_a_panic() {
        let items = [
            quote!(),
            quote!(
                struct S;
            ),
            quote!(
                fn f();
            ),
            quote!(
                async fn f(#[cfg(x)] a: A) {}
            ),
            quote!(impl X {}),
            quote!(+),
        ];
        for item in items {
            let out = run(Kind::Login, quote!(), item.clone());
            assert_eq!(errors(&out).len(), 1, "{item}: {out}");
        }
        let attrs = [
            quote!(,),
            quote!("a.b" "c.d"),
            quote!(crate = 1),
            quote!(crate = "not a path"),
            quote!(a::b = "x"),
            quote!(any("a.b")()),
            quote!(x.any("a.b")),
            quote!(""),
            quote!(any(scope = "x")),
            quote!("a.b", scope = ""),
            quote!("a.b", scope = "{id}"),
        ];
        for attr in attrs {
            let out = run(Kind::Permission, attr.clone(), handler());
            assert!(!errors(&out).is_empty(), "{attr}: {out}");
        }
        for attr in [quote!(""), quote!("a\u{7}"), quote!(1), quote!(scope = "x")] {
            let out = run(Kind::Role, attr.clone(), handler());
            assert!(!errors(&out).is_empty(), "{attr}: {out}");
        }
        let long = "r".repeat(151);
        let out = run(Kind::Role, quote!(#long), handler());
        assert_eq!(errors(&out).len(), 1, "{out}");
        let ok = "r".repeat(150);
        let out = run(Kind::Role, quote!(#ok, "Chef d'équipe"), handler());
        assert!(errors(&out).is_empty(), "{out}");
    }
}
