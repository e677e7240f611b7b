//! Validation: assigns roles to fields, checks types and attributes, and builds the column
//! model of the table.

use auth_grammar::limits;
use proc_macro2::Span;

use super::Ctxt;
use super::ast::{Base, Field, Input, TypeError, TypeKind, type_to_string};
use super::attr::Role;

/// Diesel's tuple limit with its `32-column-tables` feature.
const MAX_COLUMNS: usize = 32;

/// Names the `table!` macro defines next to the columns of a table module.
const RESERVED_FIELD_NAMES: [&str; 5] = ["table", "star", "dsl", "columns", "all_columns"];

const SUPPORTED: &str = "supported are String, bool, i16, i32, i64, f32, f64, \
                         time::PrimitiveDateTime, uuid::Uuid and Option of these";

pub(super) use auth_grammar::{ColumnType, DefaultValue};

/// One field of the model and the column it maps to.
pub(super) struct Column<'a> {
    /// The field name (also the Diesel column name).
    pub ident: &'a syn::Ident,
    /// The column name in SQL (the field name without `r#`).
    pub name: String,
    /// The field's Rust type as written.
    pub ty: &'a syn::Type,
    /// The portable column type.
    pub col_type: ColumnType,
    /// Whether the column accepts NULL.
    pub nullable: bool,
    /// The role the field plays, if any.
    pub role: Option<Role>,
    /// Whether the column is the primary key.
    pub primary_key: bool,
    /// Whether a unique index covers the column.
    pub unique: bool,
    /// `VARCHAR` length.
    pub max_length: Option<u32>,
    /// Insert default.
    pub default: Option<DefaultValue>,
}

/// A validated model, ready for expansion.
pub(super) struct Model<'a> {
    /// The struct name.
    pub ident: &'a syn::Ident,
    /// Path of the auth-axum crate.
    pub krate: syn::Path,
    /// Table name (also the name of the generated Diesel module).
    pub table: String,
    /// Span for the generated module's name.
    pub table_span: Span,
    /// Columns in field order.
    pub columns: Vec<Column<'a>>,
}

impl<'a> Model<'a> {
    /// Index in `columns` of the field playing `role`.
    pub(super) fn role(&self, role: Role) -> Option<&Column<'a>> {
        self.columns.iter().find(|c| c.role == Some(role))
    }

    /// Validates `input`, recording every problem in `cx`. `None` when something is wrong.
    pub(super) fn new(cx: &Ctxt, input: Input<'a>) -> Option<Model<'a>> {
        let roles = assign_roles(cx, &input);

        let (table, table_span) = input
            .attrs
            .table
            .clone()
            .unwrap_or_else(|| ("users".to_owned(), Span::call_site()));
        if input.ident == table.as_str() {
            cx.error_spanned(
                input.ident,
                format_args!(
                    "the struct cannot be named `{table}` like its table: the derive \
                     generates a module of that name; rename the struct or set \
                     #[auth(table = \"...\")]"
                ),
            );
        }

        let mut columns = Vec::with_capacity(input.fields.len());
        for (index, field) in input.fields.iter().enumerate() {
            let role = roles[index];
            if let Some(column) = check_field(cx, field, role, &table) {
                columns.push(column);
            }
            if index == MAX_COLUMNS {
                cx.error_spanned(
                    field.ident,
                    format_args!(
                        "too many fields: a user model has at most {MAX_COLUMNS} columns \
                         (Diesel's tuple limit)"
                    ),
                );
            }
        }

        // The JSON key `email` means the e-mail address (registration, `apply_changes`), so
        // a custom field cannot take that name when another field is the e-mail address.
        if let Some(email) = columns.iter().find(|c| c.role == Some(Role::Email))
            && email.name != "email"
            && let Some(custom) = columns
                .iter()
                .find(|c| c.role.is_none() && c.name == "email")
        {
            cx.error_spanned(
                custom.ident,
                format_args!(
                    "a custom field cannot be named `email` when field `{}` plays the email \
                     role: the JSON key `email` means the e-mail address",
                    email.name
                ),
            );
        }

        if cx.has_errors() {
            return None;
        }
        let krate = input
            .attrs
            .krate
            .clone()
            .unwrap_or_else(|| syn::parse_quote!(::auth_axum));
        Some(Model {
            ident: input.ident,
            krate,
            table,
            table_span,
            columns,
        })
    }
}

/// The role of each field (by index): attributes first, then conventional names.
fn assign_roles(cx: &Ctxt, input: &Input<'_>) -> Vec<Option<Role>> {
    let mut roles: Vec<Option<Role>> = vec![None; input.fields.len()];
    // Which field claimed each role by attribute.
    let mut claimed: Vec<(Role, usize)> = Vec::new();
    for (index, field) in input.fields.iter().enumerate() {
        for &(role, span) in &field.attrs.roles {
            if let Some(first) = roles[index] {
                cx.error_at(
                    span,
                    format_args!(
                        "field `{}` already has the `{}` role: a field plays at most one role",
                        field.ident,
                        first.key()
                    ),
                );
                continue;
            }
            if let Some(&(_, other)) = claimed.iter().find(|(r, _)| *r == role) {
                cx.error_at(
                    span,
                    format_args!(
                        "duplicate `{}` role: field `{}` is already marked #[auth({})]",
                        role.key(),
                        input.fields[other].ident,
                        role.key()
                    ),
                );
                continue;
            }
            roles[index] = Some(role);
            claimed.push((role, index));
        }
    }
    for role in Role::ALL {
        if claimed.iter().any(|(r, _)| *r == role) {
            continue;
        }
        let conventional = input
            .fields
            .iter()
            .position(|f| f.attrs.roles.is_empty() && unraw(f.ident) == role.conventional_name());
        match conventional {
            Some(index) => roles[index] = Some(role),
            None if role.required() => cx.error_spanned(
                input.ident,
                format_args!(
                    "missing {key} field: add a field named `{name}` or mark one with \
                     #[auth({key})]",
                    key = role.key(),
                    name = role.conventional_name(),
                ),
            ),
            None => {}
        }
    }
    roles
}

/// The field name as a string, without `r#`.
fn unraw(ident: &syn::Ident) -> String {
    let name = ident.to_string();
    match name.strip_prefix("r#") {
        Some(stripped) => stripped.to_owned(),
        None => name,
    }
}

/// The types a role accepts, for checks and messages.
fn role_accepts(role: Role, kind: TypeKind) -> bool {
    let TypeKind { base, nullable } = kind;
    match role {
        Role::Id => base == Base::I64 && !nullable,
        Role::Account | Role::Password => base == Base::String && !nullable,
        Role::Email => base == Base::String,
        Role::Superuser | Role::Active | Role::Verified => base == Base::Bool && !nullable,
        Role::LastLogin => base == Base::PrimitiveDateTime && nullable,
        Role::DateJoined => base == Base::PrimitiveDateTime && !nullable,
    }
}

fn role_expected(role: Role) -> &'static str {
    match role {
        Role::Id => "`i64`",
        Role::Account | Role::Password => "`String`",
        Role::Email => "`String` or `Option<String>`",
        Role::Superuser | Role::Active | Role::Verified => "`bool`",
        Role::LastLogin => "`Option<PrimitiveDateTime>`",
        Role::DateJoined => "`PrimitiveDateTime`",
    }
}

/// Checks one field and builds its column.
fn check_field<'a>(
    cx: &Ctxt,
    field: &Field<'a>,
    role: Option<Role>,
    table: &str,
) -> Option<Column<'a>> {
    let name = unraw(field.ident);
    let mut ok = true;
    if RESERVED_FIELD_NAMES.contains(&name.as_str()) || name == table {
        cx.error_spanned(
            field.ident,
            format_args!(
                "a field cannot be named `{name}`: Diesel's table! module `{table}` already \
                 defines that name"
            ),
        );
        ok = false;
    }

    let kind = match (field.kind, role) {
        (Ok(kind), Some(role)) if role_accepts(role, kind) => Some(kind),
        (_, Some(role)) => {
            cx.error_spanned(
                field.ty,
                format_args!(
                    "field `{name}` plays the `{}` role and must be {}, found `{}`",
                    role.key(),
                    role_expected(role),
                    type_to_string(field.ty)
                ),
            );
            None
        }
        (Ok(kind), None) => Some(kind),
        (Err(TypeError::NestedOption), None) => {
            cx.error_spanned(
                field.ty,
                format_args!(
                    "unsupported field type `{}`: nested Option is not supported; {SUPPORTED}",
                    type_to_string(field.ty)
                ),
            );
            None
        }
        (Err(TypeError::Unsupported), None) => {
            cx.error_spanned(
                field.ty,
                format_args!(
                    "unsupported field type `{}`: {SUPPORTED}",
                    type_to_string(field.ty)
                ),
            );
            None
        }
    };

    if let Some((_, span)) = field.attrs.max_length
        && kind.is_some_and(|k| k.base != Base::String)
    {
        cx.error_at(
            span,
            format_args!(
                "`max_length` applies only to String fields; `{name}` is `{}`",
                type_to_string(field.ty)
            ),
        );
        ok = false;
    }
    if let (Some(span), Some(Role::Id)) = (field.attrs.unique, role) {
        cx.error_at(
            span,
            "`unique` is redundant on the id: it is the primary key",
        );
        ok = false;
    }

    let kind = kind?;
    if !ok {
        return None;
    }

    let col_type = match kind.base {
        Base::String => ColumnType::Text,
        Base::Bool => ColumnType::Bool,
        Base::I16 => ColumnType::SmallInt,
        Base::I32 => ColumnType::Integer,
        Base::I64 => ColumnType::BigInt,
        Base::F32 => ColumnType::Float,
        Base::F64 => ColumnType::Double,
        Base::PrimitiveDateTime => ColumnType::Timestamp,
        Base::Uuid => ColumnType::Uuid,
    };
    let primary_key = role == Some(Role::Id);
    let unique = matches!(role, Some(Role::Account | Role::Email)) || field.attrs.unique.is_some();
    let default_length = match role {
        Some(Role::Account) => Some(limits::MAX_ACCOUNT_CHARS as u32),
        Some(Role::Email) => Some(limits::MAX_EMAIL_CHARS as u32),
        Some(Role::Password) => Some(limits::PASSWORD_HASH_CHARS as u32),
        _ => None,
    };
    let max_length = field.attrs.max_length.map(|(n, _)| n).or(default_length);
    let default = if kind.nullable || primary_key {
        None
    } else {
        match col_type {
            ColumnType::Bool => Some(DefaultValue::Bool(role == Some(Role::Active))),
            ColumnType::SmallInt
            | ColumnType::Integer
            | ColumnType::BigInt
            | ColumnType::Float
            | ColumnType::Double => Some(DefaultValue::Zero),
            ColumnType::Text
                if unique || matches!(role, Some(Role::Account | Role::Email | Role::Password)) =>
            {
                None
            }
            ColumnType::Text => Some(DefaultValue::EmptyString),
            ColumnType::Timestamp => Some(DefaultValue::CurrentTimestamp),
            ColumnType::Uuid => None,
        }
    };
    Some(Column {
        ident: field.ident,
        name,
        ty: field.ty,
        col_type,
        nullable: kind.nullable,
        role,
        primary_key,
        unique,
        max_length,
        default,
    })
}
