//! `#[derive(AuthUser)]`: parse (attributes and field types), validate (role assignment,
//! type checks, column model), then expand (Diesel table, trait impls, Debug, Serialize).
//!
//! Every phase records its errors in a [`Ctxt`] instead of stopping at the first one, so
//! the user sees all the problems of a model at once, each spanned at the offending token.

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro2::TokenStream;

use crate::ctxt::Ctxt;

/// Expands `#[derive(AuthUser)]` on `input` (the derive input tokens).
pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<syn::DeriveInput>(input) {
        Ok(input) => input,
        Err(err) => return err.to_compile_error(),
    };
    let cx = Ctxt::default();
    let model = ast::Input::from_syn(&cx, &input).and_then(|input| valid::Model::new(&cx, input));
    match (cx.finish(), model) {
        (Err(err), _) => err.to_compile_error(),
        (Ok(()), Some(model)) => expand::expand(&model),
        // Unreachable in practice: a phase that returns `None` records an error first.
        (Ok(()), None) => {
            syn::Error::new_spanned(&input.ident, "cannot derive AuthUser").to_compile_error()
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    fn errors(input: proc_macro2::TokenStream) -> Vec<String> {
        let out = super::derive(input).to_string();
        out.split("compile_error !")
            .skip(1)
            .map(|e| e.trim_start_matches([' ', '{', '(']).to_owned())
            .collect()
    }

    #[test]
    fn a_valid_model_expands_without_errors() {
        let out = super::derive(quote! {
            struct User { id: i64, account: String, password: String }
        })
        .to_string();
        assert!(!out.contains("compile_error"), "{out}");
        assert!(out.contains("table !"), "{out}");
        assert!(
            out.contains("impl :: auth_axum :: __private :: UserStore for User"),
            "{out}"
        );
    }

    #[test]
    fn every_error_is_reported() {
        let errs = errors(quote! {
            #[auth(table = " users")]
            struct User {
                #[auth(nope, max_length = -1, id)]
                id: i32,
                #[auth(account, password)]
                login: String,
                extra: Vec<u8>,
            }
        });
        assert_eq!(errs.len(), 7, "{errs:#?}");
    }

    #[test]
    fn odd_table_names_are_errors_not_panics() {
        for name in [
            " users",
            "users ",
            "r#type",
            "type",
            "gen",
            "",
            "_",
            "two words",
            "1users",
        ] {
            let errs = errors(quote! {
                #[auth(table = #name)]
                struct User { id: i64, account: String, password: String }
            });
            assert_eq!(errs.len(), 1, "{name:?}: {errs:#?}");
            assert!(
                errs[0].contains("invalid table name"),
                "{name:?}: {errs:#?}"
            );
        }
    }

    #[test]
    fn a_custom_email_field_beside_the_email_role_is_an_error() {
        let errs = errors(quote! {
            struct User {
                id: i64, account: String, password: String,
                #[auth(email)] mail: String,
                email: i32,
            }
        });
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert!(errs[0].contains("cannot be named `email`"), "{errs:#?}");
        // The field named `email` playing the role is the usual case.
        let out = super::derive(quote! {
            struct User { id: i64, account: String, password: String, email: String }
        })
        .to_string();
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn non_list_attributes_are_errors() {
        let errs = errors(quote! {
            #[auth]
            struct User { #[auth = "x"] id: i64, account: String, password: String }
        });
        assert_eq!(errs.len(), 2, "{errs:#?}");
    }
}
