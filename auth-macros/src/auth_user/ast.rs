//! The derive input as the macro sees it: a struct, its named fields, their attributes and
//! the classification of their Rust types.

use super::Ctxt;
use super::attr::{ContainerAttrs, FieldAttrs};

/// A Rust type a column can have (without `Option`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Base {
    /// `String`.
    String,
    /// `bool`.
    Bool,
    /// `i16`.
    I16,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `time::PrimitiveDateTime`.
    PrimitiveDateTime,
    /// `uuid::Uuid`.
    Uuid,
}

impl Base {
    fn from_ident(ident: &syn::Ident) -> Option<Base> {
        Some(match ident.to_string().as_str() {
            "String" => Base::String,
            "bool" => Base::Bool,
            "i16" => Base::I16,
            "i32" => Base::I32,
            "i64" => Base::I64,
            "f32" => Base::F32,
            "f64" => Base::F64,
            "PrimitiveDateTime" => Base::PrimitiveDateTime,
            "Uuid" => Base::Uuid,
            _ => return None,
        })
    }
}

/// The classification of a field's Rust type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TypeKind {
    /// The type, or the type inside `Option`.
    pub base: Base,
    /// Whether the field is an `Option` (a nullable column).
    pub nullable: bool,
}

/// Why a type is not a column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TypeError {
    /// Not one of the supported types.
    Unsupported,
    /// `Option<Option<T>>`.
    NestedOption,
}

/// One named field of the struct.
pub(super) struct Field<'a> {
    /// The field name.
    pub ident: &'a syn::Ident,
    /// The field's Rust type as written.
    pub ty: &'a syn::Type,
    /// Its classification.
    pub kind: Result<TypeKind, TypeError>,
    /// Its `#[auth(...)]` attributes.
    pub attrs: FieldAttrs,
}

/// The struct the derive is applied to.
pub(super) struct Input<'a> {
    /// The struct name.
    pub ident: &'a syn::Ident,
    /// Its `#[auth(...)]` attributes.
    pub attrs: ContainerAttrs,
    /// Its fields, in declaration order.
    pub fields: Vec<Field<'a>>,
}

impl<'a> Input<'a> {
    /// Reads the derive input, recording errors in `cx`. `None` when the input is not a
    /// struct with named fields (nothing else can be checked then).
    pub(super) fn from_syn(cx: &Ctxt, input: &'a syn::DeriveInput) -> Option<Input<'a>> {
        let attrs = ContainerAttrs::parse(cx, &input.attrs);
        let fields = match &input.data {
            syn::Data::Struct(data) => match &data.fields {
                syn::Fields::Named(named) => &named.named,
                syn::Fields::Unnamed(unnamed) => {
                    cx.error_spanned(
                        unnamed,
                        "AuthUser cannot be derived for a tuple struct: use named fields",
                    );
                    return None;
                }
                syn::Fields::Unit => {
                    cx.error_spanned(
                        &input.ident,
                        "AuthUser cannot be derived for a unit struct: it needs named fields",
                    );
                    return None;
                }
            },
            syn::Data::Enum(data) => {
                cx.error_at(
                    data.enum_token.span,
                    "AuthUser can only be derived for a struct with named fields, not an enum",
                );
                return None;
            }
            syn::Data::Union(data) => {
                cx.error_at(
                    data.union_token.span,
                    "AuthUser can only be derived for a struct with named fields, not a union",
                );
                return None;
            }
        };
        if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
            cx.error_spanned(
                &input.generics,
                "AuthUser cannot be derived for a generic struct",
            );
        }
        let fields = fields
            .iter()
            .filter_map(|field| {
                let ident = field.ident.as_ref()?;
                Some(Field {
                    ident,
                    ty: &field.ty,
                    kind: classify(&field.ty),
                    attrs: FieldAttrs::parse(cx, &field.attrs),
                })
            })
            .collect();
        Some(Input {
            ident: &input.ident,
            attrs,
            fields,
        })
    }
}

/// Classifies a type by the last segment of its path: `String`, `bool`, `i16`, `i32`,
/// `i64`, `f32`, `f64`, `PrimitiveDateTime`, `Uuid`, or `Option` of one of these.
pub(super) fn classify(ty: &syn::Type) -> Result<TypeKind, TypeError> {
    let segment = last_segment(ty).ok_or(TypeError::Unsupported)?;
    if segment.ident == "Option" {
        let inner = single_type_argument(segment).ok_or(TypeError::Unsupported)?;
        let inner_segment = last_segment(inner).ok_or(TypeError::Unsupported)?;
        if inner_segment.ident == "Option" {
            return Err(TypeError::NestedOption);
        }
        return plain(inner_segment).map(|base| TypeKind {
            base,
            nullable: true,
        });
    }
    plain(segment).map(|base| TypeKind {
        base,
        nullable: false,
    })
}

/// A segment naming a supported type without generic arguments.
fn plain(segment: &syn::PathSegment) -> Result<Base, TypeError> {
    if !segment.arguments.is_none() {
        return Err(TypeError::Unsupported);
    }
    Base::from_ident(&segment.ident).ok_or(TypeError::Unsupported)
}

/// The last segment of a plain type path (no `<T as Trait>::` qualifier).
fn last_segment(ty: &syn::Type) -> Option<&syn::PathSegment> {
    match ty {
        syn::Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        syn::Type::Group(group) => last_segment(&group.elem),
        syn::Type::Paren(paren) => last_segment(&paren.elem),
        _ => None,
    }
}

/// `T` in `Segment<T>`.
fn single_type_argument(segment: &syn::PathSegment) -> Option<&syn::Type> {
    let syn::PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    let mut args = args.args.iter();
    match (args.next(), args.next()) {
        (Some(syn::GenericArgument::Type(ty)), None) => Some(ty),
        _ => None,
    }
}

/// A type as written, for messages: `Vec<u8>` rather than `Vec < u8 >`.
pub(super) fn type_to_string(ty: &syn::Type) -> String {
    let raw = quote::quote!(#ty).to_string();
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    let mut prev = ' ';
    while let Some(c) = chars.next() {
        if c == ' ' {
            let next = chars.peek().copied().unwrap_or(' ');
            let glue_before = matches!(next, '<' | '>' | ':' | ',' | ')' | ']');
            let glue_after = matches!(prev, '<' | ':' | '&' | '(' | '[');
            if glue_before || glue_after {
                continue;
            }
        }
        out.push(c);
        prev = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(src: &str) -> syn::Type {
        syn::parse_str(src).expect("a type")
    }

    #[test]
    fn types_are_recognised_by_their_last_segment() {
        let plain = |base| {
            Ok(TypeKind {
                base,
                nullable: false,
            })
        };
        let nullable = |base| {
            Ok(TypeKind {
                base,
                nullable: true,
            })
        };
        assert_eq!(classify(&ty("String")), plain(Base::String));
        assert_eq!(classify(&ty("std::string::String")), plain(Base::String));
        assert_eq!(
            classify(&ty("::time::PrimitiveDateTime")),
            plain(Base::PrimitiveDateTime)
        );
        assert_eq!(classify(&ty("uuid::Uuid")), plain(Base::Uuid));
        assert_eq!(classify(&ty("i16")), plain(Base::I16));
        assert_eq!(classify(&ty("f32")), plain(Base::F32));
        assert_eq!(classify(&ty("Option<bool>")), nullable(Base::Bool));
        assert_eq!(
            classify(&ty("core::option::Option<f64>")),
            nullable(Base::F64)
        );
        assert_eq!(
            classify(&ty("Option<Option<i32>>")),
            Err(TypeError::NestedOption)
        );
        for bad in [
            "u32",
            "Vec<u8>",
            "&str",
            "OffsetDateTime",
            "Option<u8>",
            "String<T>",
            "Option",
            "(i64,)",
            "<T as X>::String",
        ] {
            assert_eq!(classify(&ty(bad)), Err(TypeError::Unsupported), "{bad}");
        }
    }

    #[test]
    fn types_print_compactly() {
        for src in [
            "Vec<String>",
            "&'static str",
            "time::OffsetDateTime",
            "Option<Option<String>>",
            "::std::collections::HashMap<String, u8>",
            "&mut [u8]",
        ] {
            assert_eq!(type_to_string(&ty(src)), src);
        }
    }
}
