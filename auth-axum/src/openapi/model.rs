//! The schemas that depend on the user model, built from [`AuthUser::TABLE`]: every column
//! but the password, typed as the derive serializes it, with the custom fields
//! ([`AuthUser::CUSTOM_FIELDS`]) under `extra` where the wire format puts them there.

use auth_core::{AuthUser, ColumnDef, ColumnType};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat,
    SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};

/// The user as the auth router answers it (core fields, custom fields under `extra`).
pub(crate) const USER: &str = "User";
/// [`USER`] with the global roles and groups: the login and `me` answers.
pub(crate) const USER_WITH_MEMBERSHIPS: &str = "UserWithMemberships";
/// The flat user of the admin answers, with roles, groups and the suspension.
pub(crate) const ADMIN_USER: &str = "AdminUser";
/// The `register` body.
pub(crate) const REGISTER: &str = "RegisterRequest";
/// The `PATCH me` body.
pub(crate) const USER_CHANGES: &str = "UserChanges";
/// The `POST admin/users` body.
pub(crate) const ADMIN_USER_CREATE: &str = "AdminUserCreate";
/// The `PATCH admin/users/{id}` body.
pub(crate) const ADMIN_USER_CHANGES: &str = "AdminUserChanges";

/// `(name, schema)` of every model-dependent schema.
pub(crate) fn schemas<U: AuthUser>() -> Vec<(String, RefOr<Schema>)> {
    let shown: Vec<&ColumnDef> = U::TABLE
        .columns
        .iter()
        .filter(|c| c.name != U::PASSWORD_COLUMN)
        .collect();
    let is_custom = |c: &&&ColumnDef| U::CUSTOM_FIELDS.contains(&c.name);
    let core: Vec<&ColumnDef> = shown.iter().filter(|c| !is_custom(c)).copied().collect();
    let custom: Vec<&ColumnDef> = shown.iter().filter(is_custom).copied().collect();
    // A custom field is required at insert unless it has a default or accepts NULL.
    let optional_custom = custom.iter().map(|c| (*c, false));
    let given_custom = custom
        .iter()
        .map(|c| (*c, !c.nullable && c.default.is_none()));

    let user_object = || {
        let extra = object(
            "The model's custom fields.",
            custom.iter().map(|c| (*c, true)),
        );
        object(
            "A user; the password hash is never part of it.",
            core.iter().map(|c| (*c, true)),
        )
        .property("extra", extra)
        .required("extra")
    };
    let user = user_object();

    let with_memberships = user_object()
        .description(Some(
            "A user with the global roles and groups (`login`, `me`); `login` with \
             `platform: \"jwt\"` adds the token fields.",
        ))
        .property(
            "roles",
            named_list("The roles held globally, directly or through a group."),
        )
        .required("roles")
        .property("groups", named_list("The groups the user belongs to."))
        .required("groups")
        .property(
            "csrf_token",
            string("With CSRF protection on: the value for `X-CSRF-Token`."),
        )
        .property("token", string("The access token (seed 000's name)."))
        .property("access_token", string("The JWT access token."))
        .property("refresh_token", string("The refresh token."))
        .property("token_type", string("`Bearer`."))
        .property(
            "expires_in",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .description(Some("Seconds until the access token expires.")),
        );

    let admin_user = object(
        "A user as the admin routes answer it: every field at the top level.",
        shown.iter().map(|c| (*c, true)),
    )
    .property(
        "roles",
        ArrayBuilder::new().items(Ref::from_schema_name("ScopedRole")),
    )
    .property("groups", ArrayBuilder::new().items(string("A group name.")))
    .property(
        "suspension",
        utoipa::openapi::schema::OneOfBuilder::new()
            .item(Ref::from_schema_name("UserStatus"))
            .item(ObjectBuilder::new().schema_type(Type::Null)),
    );

    let register = object(
        "Custom fields go under `extra` or at the top level; those without a default are \
         needed one way or the other.",
        optional_custom.clone(),
    )
    .property("account", string("The login name."))
    .required("account")
    .property("password", password("Under the password policy."))
    .required("password")
    .property(
        "email",
        string("The e-mail address (also accepted under `extra`)."),
    )
    .property("platform", string("The backend; `default` when absent."))
    .property(
        "extra",
        object("Custom fields (and `email`).", optional_custom.clone())
            .property("email", string("The e-mail address.")),
    );

    let changes = object(
        "Only the fields sent change; custom fields may also come under `extra`.",
        optional_custom.clone(),
    )
    .property(
        "email",
        string("A new e-mail address; needs `current_password`."),
    )
    .property(
        "current_password",
        password("Required to change the e-mail address."),
    )
    .property("extra", object("Custom fields.", optional_custom.clone()));

    let admin_create = ObjectBuilder::new()
        .property("account", string("The login name."))
        .required("account")
        .property("password", password("Under the password policy."))
        .required("password")
        .property("email", string("The e-mail address."))
        .property("roles", ArrayBuilder::new().items(string("A role name.")))
        .property("extra", object("Custom fields.", given_custom))
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));

    let admin_changes = object(
        "Only the fields sent change, in one statement.",
        optional_custom,
    )
    .property(
        "account",
        string("A new login name (409 `conflict` when taken)."),
    )
    .property("is_active", ObjectBuilder::new().schema_type(Type::Boolean))
    .property(
        "suspend_reason",
        string("Deactivates the user and records why."),
    )
    .property("email", string("A new e-mail address (unverified)."));

    vec![
        (USER.to_owned(), Schema::Object(user.build()).into()),
        (
            USER_WITH_MEMBERSHIPS.to_owned(),
            Schema::Object(with_memberships.build()).into(),
        ),
        (
            ADMIN_USER.to_owned(),
            Schema::Object(admin_user.build()).into(),
        ),
        (REGISTER.to_owned(), Schema::Object(register.build()).into()),
        (
            USER_CHANGES.to_owned(),
            Schema::Object(changes.build()).into(),
        ),
        (
            ADMIN_USER_CREATE.to_owned(),
            Schema::Object(admin_create.build()).into(),
        ),
        (
            ADMIN_USER_CHANGES.to_owned(),
            Schema::Object(admin_changes.build()).into(),
        ),
    ]
}

/// A closed object of `columns`, each `(column, required)`.
fn object<'a>(
    description: &str,
    columns: impl Iterator<Item = (&'a ColumnDef, bool)>,
) -> ObjectBuilder {
    let mut object = ObjectBuilder::new()
        .description(Some(description))
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    for (column, required) in columns {
        object = object.property(column.name, column_schema(column));
        if required {
            object = object.required(column.name);
        }
    }
    object
}

/// A column's value as the derive serializes it.
fn column_schema(column: &ColumnDef) -> ObjectBuilder {
    let (ty, format) = match column.ty {
        ColumnType::SmallInt | ColumnType::Integer => (Type::Integer, Some(KnownFormat::Int32)),
        ColumnType::BigInt => (Type::Integer, Some(KnownFormat::Int64)),
        ColumnType::Float => (Type::Number, Some(KnownFormat::Float)),
        ColumnType::Double => (Type::Number, Some(KnownFormat::Double)),
        ColumnType::Bool => (Type::Boolean, None),
        ColumnType::Text => (Type::String, None),
        ColumnType::Timestamp => (Type::String, Some(KnownFormat::DateTime)),
        ColumnType::Uuid => (Type::String, Some(KnownFormat::Uuid)),
    };
    let schema_type = if column.nullable {
        SchemaType::from_iter([ty, Type::Null])
    } else {
        SchemaType::new(ty)
    };
    let mut schema = ObjectBuilder::new()
        .schema_type(schema_type)
        .format(format.map(SchemaFormat::KnownFormat));
    if column.ty == ColumnType::SmallInt {
        schema = schema.minimum(Some(i16::MIN)).maximum(Some(i16::MAX));
    }
    if let Some(max) = column.max_length {
        schema = schema.max_length(Some(max as usize));
    }
    schema
}

fn string(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

fn password(description: &str) -> ObjectBuilder {
    string(description).format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
}

fn named_list(description: &str) -> ArrayBuilder {
    ArrayBuilder::new()
        .items(Ref::from_schema_name("Named"))
        .description(Some(description))
}

/// Stand-ins for the model-dependent schemas in `#[utoipa::path]` annotations: each names
/// its component (built by [`schemas`]), so an operation refers to it by `$ref`.
pub(crate) mod refs {
    use std::borrow::Cow;

    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    use utoipa::openapi::{Ref, RefOr};

    macro_rules! component_ref {
        ($($ty:ident => $name:path),* $(,)?) => {$(
            #[doc = concat!("The `", stringify!($ty), "` component.")]
            #[derive(serde::Serialize)]
            pub(crate) struct $ty;

            impl utoipa::PartialSchema for $ty {
                fn schema() -> RefOr<Schema> {
                    Ref::from_schema_name($name).into()
                }
            }

            impl utoipa::ToSchema for $ty {
                fn name() -> Cow<'static, str> {
                    Cow::Borrowed($name)
                }
            }
        )*};
    }

    component_ref! {
        User => super::USER,
        UserWithMemberships => super::USER_WITH_MEMBERSHIPS,
        AdminUser => super::ADMIN_USER,
        RegisterRequest => super::REGISTER,
        UserChanges => super::USER_CHANGES,
        AdminUserCreate => super::ADMIN_USER_CREATE,
        AdminUserChanges => super::ADMIN_USER_CHANGES,
    }

    /// `oneOf` the named components, inline (an answer of two shapes).
    macro_rules! one_of {
        ($($ty:ident = [$($name:expr),+] : $doc:literal),* $(,)?) => {$(
            #[doc = $doc]
            #[derive(serde::Serialize)]
            pub(crate) struct $ty;

            impl utoipa::PartialSchema for $ty {
                fn schema() -> RefOr<Schema> {
                    let mut one_of = utoipa::openapi::schema::OneOfBuilder::new();
                    $(one_of = one_of.item(Ref::from_schema_name($name));)+
                    one_of.into()
                }
            }

            impl utoipa::ToSchema for $ty {
                fn name() -> Cow<'static, str> {
                    Cow::Borrowed(stringify!($ty))
                }
            }
        )*};
    }

    one_of! {
        LoginAnswer = [super::USER_WITH_MEMBERSHIPS, "MfaChallenge"]:
            "A login's answer: the user, or the MFA challenge.",
        TokenAnswer = ["TokenPair", "MfaChallenge"]:
            "A token login's answer: the tokens, or the MFA challenge.",
        MfaLoginAnswer = [super::USER_WITH_MEMBERSHIPS, "TokenPair"]:
            "The answer of a login's MFA step: the user, or the tokens.",
    }

    /// The `data` of an answer that carries none: `null`.
    #[derive(serde::Serialize)]
    pub(crate) struct Nothing;

    impl utoipa::PartialSchema for Nothing {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new().schema_type(Type::Null).into()
        }
    }

    impl utoipa::ToSchema for Nothing {
        fn name() -> Cow<'static, str> {
            Cow::Borrowed("Nothing")
        }
    }
}
