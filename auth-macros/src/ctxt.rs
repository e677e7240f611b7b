//! Error collection shared by the macros: every phase records its errors instead of
//! stopping at the first one, and they are reported together.

/// Collects the errors of all phases; reported together by [`Ctxt::finish`].
#[derive(Default)]
pub(crate) struct Ctxt {
    errors: std::cell::RefCell<Option<syn::Error>>,
}

impl Ctxt {
    /// Records an error.
    pub(crate) fn push(&self, err: syn::Error) {
        let mut errors = self.errors.borrow_mut();
        match errors.as_mut() {
            Some(all) => all.combine(err),
            None => *errors = Some(err),
        }
    }

    /// Records an error spanned at `tokens`.
    pub(crate) fn error_spanned<T: quote::ToTokens, M: std::fmt::Display>(
        &self,
        tokens: T,
        msg: M,
    ) {
        self.push(syn::Error::new_spanned(tokens, msg));
    }

    /// Records an error at `span`.
    pub(crate) fn error_at<M: std::fmt::Display>(&self, span: proc_macro2::Span, msg: M) {
        self.push(syn::Error::new(span, msg));
    }

    /// Whether any error was recorded so far.
    pub(crate) fn has_errors(&self) -> bool {
        self.errors.borrow().is_some()
    }

    /// All recorded errors combined, if any.
    pub(crate) fn finish(self) -> Result<(), syn::Error> {
        match self.errors.into_inner() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}
