//! Behaviour of the code `#[derive(AuthUser)]` generates (no database needed).

use auth_axum::{AuthUser, Backend, ColumnDef, ColumnType, DefaultValue};
use time::PrimitiveDateTime;
use time::macros::datetime;
use uuid::Uuid;

const HASH: &str = "$2b$12$very-secret-hash-value";

/// A user with every role (the account under another name) and custom fields.
#[derive(AuthUser, Clone)]
#[auth(table = "members")]
pub struct Member {
    id: i64,
    #[auth(account)]
    username: String,
    password: String,
    email: Option<String>,
    is_superuser: bool,
    is_active: bool,
    is_verified: bool,
    last_login: Option<PrimitiveDateTime>,
    date_joined: PrimitiveDateTime,
    #[auth(max_length = 80)]
    display_name: String,
    bio: Option<String>,
    age: i32,
    newsletter: bool,
    #[auth(unique)]
    external_id: Uuid,
    birthday: Option<PrimitiveDateTime>,
    score: f64,
}

/// Only the required roles; the e-mail is a plain `String`.
#[derive(AuthUser)]
struct Minimal {
    id: i64,
    account: String,
    password: String,
    email: String,
}

fn member() -> Member {
    Member {
        id: 7,
        username: "alice".into(),
        password: HASH.into(),
        email: Some("alice@example.com".into()),
        is_superuser: false,
        is_active: true,
        is_verified: false,
        last_login: None,
        date_joined: datetime!(2024-01-02 03:04:05),
        display_name: "Alice".into(),
        bio: None,
        age: 30,
        newsletter: true,
        external_id: Uuid::nil(),
        birthday: None,
        score: 1.5,
    }
}

fn column(name: &str) -> ColumnDef {
    match Member::TABLE.column(name) {
        Some(column) => *column,
        None => panic!("no column {name}"),
    }
}

#[test]
fn debug_redacts_the_password_hash() {
    let text = format!("{:?}", member());
    assert!(!text.contains(HASH), "{text}");
    assert!(!text.contains("very-secret"), "{text}");
    assert!(
        text.starts_with("Member { id: 7, username: \"alice\", password: <redacted>,"),
        "{text}"
    );
    assert!(text.contains("display_name: \"Alice\""), "{text}");
    assert!(
        text.contains("external_id: 00000000-0000-0000-0000-000000000000"),
        "{text}"
    );
}

#[test]
fn serialize_leaves_the_password_out() {
    let value = serde_json::to_value(member()).expect("serializes");
    let object = value.as_object().expect("an object");
    assert!(!object.contains_key("password"), "{value}");
    assert!(!value.to_string().contains("secret"), "{value}");
    assert_eq!(object.len(), Member::TABLE.columns.len() - 1);
    assert_eq!(value["id"], 7);
    assert_eq!(value["username"], "alice");
    assert_eq!(value["email"], "alice@example.com");
    assert_eq!(value["display_name"], "Alice");
    assert_eq!(value["bio"], serde_json::Value::Null);
    assert_eq!(value["age"], 30);
    assert_eq!(value["newsletter"], true);
    assert_eq!(value["external_id"], "00000000-0000-0000-0000-000000000000");
    assert_eq!(value["score"], 1.5);
    assert!(object.contains_key("date_joined"));
    assert!(object.contains_key("birthday"));
}

#[test]
fn accessors_read_the_role_fields() {
    let mut m = member();
    assert_eq!(m.id(), 7);
    assert_eq!(AuthUser::account(&m), "alice");
    assert_eq!(m.password_hash(), HASH);
    m.set_password_hash("new-hash".into());
    assert_eq!(m.password_hash(), "new-hash");
    assert_eq!(m.password, "new-hash");
    assert_eq!(AuthUser::email(&m), Some("alice@example.com"));
    assert!(!AuthUser::is_superuser(&m));
    assert!(AuthUser::is_active(&m));
    assert!(!AuthUser::is_verified(&m));
    assert_eq!(AuthUser::last_login(&m), None);
    assert_eq!(
        AuthUser::date_joined(&m),
        Some(datetime!(2024-01-02 03:04:05))
    );
}

#[test]
fn absent_roles_fall_back() {
    let m = Minimal {
        id: 1,
        account: "bob".into(),
        password: "h".into(),
        email: "b@x.org".into(),
    };
    assert_eq!(AuthUser::email(&m), Some("b@x.org"));
    assert!(!m.is_superuser());
    assert!(m.is_active());
    assert!(m.is_verified());
    assert_eq!(m.last_login(), None);
    assert_eq!(m.date_joined(), None);
    assert_eq!(Minimal::TABLE.name, "users");
    let email = Minimal::TABLE.column("email").expect("email column");
    assert!(email.unique && !email.nullable);
    assert_eq!(email.max_length, Some(254));
    assert_eq!(email.default, None);
}

#[test]
fn table_describes_every_field_in_order() {
    let table = Member::TABLE;
    assert_eq!(table.name, "members");
    let names: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "id",
            "username",
            "password",
            "email",
            "is_superuser",
            "is_active",
            "is_verified",
            "last_login",
            "date_joined",
            "display_name",
            "bio",
            "age",
            "newsletter",
            "external_id",
            "birthday",
            "score",
        ]
    );
    assert_eq!(table.columns.iter().filter(|c| c.primary_key).count(), 1);

    let id = column("id");
    assert!(id.primary_key && !id.nullable && !id.unique);
    assert_eq!((id.ty, id.default), (ColumnType::BigInt, None));

    let account = column("username");
    assert!(account.unique && !account.nullable);
    assert_eq!(
        (account.ty, account.max_length, account.default),
        (ColumnType::Text, Some(150), None)
    );

    let password = column("password");
    assert!(!password.unique);
    assert_eq!((password.max_length, password.default), (Some(255), None));

    let email = column("email");
    assert!(email.unique && email.nullable);
    assert_eq!((email.max_length, email.default), (Some(254), None));

    assert_eq!(
        column("is_superuser").default,
        Some(DefaultValue::Bool(false))
    );
    assert_eq!(column("is_active").default, Some(DefaultValue::Bool(true)));
    assert_eq!(
        column("is_verified").default,
        Some(DefaultValue::Bool(false))
    );

    let last_login = column("last_login");
    assert_eq!(
        (last_login.ty, last_login.nullable, last_login.default),
        (ColumnType::Timestamp, true, None)
    );
    let joined = column("date_joined");
    assert_eq!((joined.ty, joined.nullable), (ColumnType::Timestamp, false));
    assert_eq!(joined.default, Some(DefaultValue::CurrentTimestamp));

    let display = column("display_name");
    assert_eq!(
        (display.ty, display.max_length),
        (ColumnType::Text, Some(80))
    );
    assert_eq!(
        (display.unique, display.default),
        (false, Some(DefaultValue::EmptyString))
    );

    let bio = column("bio");
    assert_eq!(
        (bio.ty, bio.nullable, bio.max_length, bio.default),
        (ColumnType::Text, true, None, None)
    );

    let age = column("age");
    assert_eq!(
        (age.ty, age.default),
        (ColumnType::Integer, Some(DefaultValue::Zero))
    );
    assert_eq!(
        column("newsletter").default,
        Some(DefaultValue::Bool(false))
    );

    let external = column("external_id");
    assert_eq!(
        (external.ty, external.unique, external.default),
        (ColumnType::Uuid, true, None)
    );

    let birthday = column("birthday");
    assert_eq!(
        (birthday.ty, birthday.nullable, birthday.default),
        (ColumnType::Timestamp, true, None)
    );

    let score = column("score");
    assert_eq!(
        (score.ty, score.default),
        (ColumnType::Double, Some(DefaultValue::Zero))
    );
}

#[test]
fn mysql_ddl_has_lengths_and_unique_indexes() {
    let sql = Member::create_table_sql(Backend::Mysql);
    assert!(sql.contains("`username` VARCHAR(150) NOT NULL"), "{sql}");
    assert!(sql.contains("`password` VARCHAR(255) NOT NULL"), "{sql}");
    assert!(sql.contains("`email` VARCHAR(254)"), "{sql}");
    assert!(sql.contains("`display_name` VARCHAR(80)"), "{sql}");
    let unique_indexes: Vec<&str> = sql
        .lines()
        .filter(|l| l.starts_with("CREATE UNIQUE INDEX"))
        .collect();
    assert!(
        unique_indexes.iter().any(|l| l.ends_with("(`username`);")),
        "{sql}"
    );
    assert!(
        unique_indexes.iter().any(|l| l.ends_with("(`email`);")),
        "{sql}"
    );
    assert!(
        unique_indexes
            .iter()
            .any(|l| l.ends_with("(`external_id`);")),
        "{sql}"
    );
    assert_eq!(unique_indexes.len(), 3, "{sql}");
}

#[test]
fn diesel_table_is_generated_beside_the_struct() {
    use auth_axum::__private::diesel::sqlite::Sqlite;
    use auth_axum::__private::diesel::{ExpressionMethods, QueryDsl, Table, debug_query};
    let query = members::table
        .select((members::id, members::username))
        .filter(members::age.gt(18));
    let sql = debug_query::<Sqlite, _>(&query).to_string();
    assert!(
        sql.starts_with("SELECT `members`.`id`, `members`.`username` FROM `members`"),
        "{sql}"
    );
    let _: members::id = members::table.primary_key();
    let _ = users::table;
}
