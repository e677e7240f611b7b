//! Behaviour of the code `#[derive(AuthUser)]` generates (no database needed).

use auth_axum::__private::NewUser;
use auth_axum::{AuthUser, Backend, ColumnDef, ColumnType, DefaultValue};
use serde_json::{Map, Value, json};
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

/// No e-mail, no flags, no custom fields; roles by attribute.
#[derive(AuthUser)]
#[auth(table = "bare_users")]
struct Bare {
    #[auth(id)]
    user_id: i64,
    #[auth(account)]
    login: String,
    #[auth(password)]
    hash: String,
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
    assert_eq!(value["date_joined"], "2024-01-02T03:04:05Z");
    assert_eq!(value["last_login"], Value::Null);
    assert_eq!(value["birthday"], Value::Null);
}

#[test]
fn serialize_encodes_timestamps_as_rfc3339_utc() {
    let m = Member {
        last_login: Some(datetime!(2026-11-23 14:30:00)),
        birthday: Some(datetime!(1990-05-06 07:08:09.123456)),
        external_id: Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
        ..member()
    };
    let value = serde_json::to_value(&m).expect("serializes");
    assert_eq!(value["last_login"], "2026-11-23T14:30:00Z");
    assert_eq!(value["birthday"], "1990-05-06T07:08:09.123456Z");
    assert_eq!(value["external_id"], "01234567-89ab-cdef-0123-456789abcdef");
}

/// Registration data with `extra` as the custom field values.
fn register(extra: &Map<String, Value>) -> Result<Member, String> {
    Member::new_user(NewUser {
        account: "carol".into(),
        password_hash: HASH.into(),
        email: Some("carol@example.com".into()),
        extra,
    })
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn new_user_reads_typed_custom_fields() {
    let extra = object(json!({
        "display_name": "Carol",
        "bio": "hello",
        "age": 41,
        "newsletter": true,
        "external_id": "01234567-89ab-cdef-0123-456789abcdef",
        "birthday": "1985-02-03T04:05:06+02:00",
        "score": 2.25,
    }));
    let before = auth_axum::__private::now();
    let m = register(&extra).expect("valid registration");
    assert_eq!(m.id, 0);
    assert_eq!(m.username, "carol");
    assert_eq!(m.password, HASH);
    assert_eq!(m.email.as_deref(), Some("carol@example.com"));
    assert!(!m.is_superuser && m.is_active && !m.is_verified);
    assert_eq!(m.last_login, None);
    assert!(m.date_joined >= before && m.date_joined <= auth_axum::__private::now());
    assert_eq!(m.display_name, "Carol");
    assert_eq!(m.bio.as_deref(), Some("hello"));
    assert_eq!(m.age, 41);
    assert!(m.newsletter);
    assert_eq!(
        m.external_id,
        Uuid::parse_str("01234567-89ab-cdef-0123-456789abcdef").unwrap()
    );
    assert_eq!(m.birthday, Some(datetime!(1985-02-03 02:05:06)));
    assert_eq!(m.score, 2.25);
}

#[test]
fn new_user_gives_missing_custom_fields_their_initial_value() {
    let m = register(&Map::new()).expect("valid registration");
    assert_eq!(m.display_name, "");
    assert_eq!(m.bio, None);
    assert_eq!(m.age, 0);
    assert!(!m.newsletter);
    assert_ne!(m.external_id, Uuid::nil(), "a fresh random UUID");
    assert_eq!(m.birthday, None);
    assert_eq!(m.score, 0.0);
    let other = register(&Map::new()).expect("valid registration");
    assert_ne!(m.external_id, other.external_id);
}

#[test]
fn new_user_refuses_bad_values_naming_the_field() {
    let err = register(&object(json!({ "age": "forty" }))).unwrap_err();
    assert!(err.starts_with("age: expected"), "{err}");
    let err = register(&object(json!({ "age": 1u64 << 40 }))).unwrap_err();
    assert!(err.starts_with("age: "), "{err}");
    let err = register(&object(json!({ "birthday": "yesterday" }))).unwrap_err();
    assert!(err.starts_with("birthday: expected"), "{err}");
    let err = register(&object(json!({ "newsletter": null }))).unwrap_err();
    assert!(err.starts_with("newsletter: expected"), "{err}");
    assert_eq!(
        register(&object(json!({ "bio": null }))).unwrap().bio,
        None,
        "null is fine for an Option"
    );

    // max_length counts characters: 80 is fine, 81 is not.
    let ok = register(&object(json!({ "display_name": "é".repeat(80) }))).unwrap();
    assert_eq!(ok.display_name.chars().count(), 80);
    let err = register(&object(json!({ "display_name": "x".repeat(81) }))).unwrap_err();
    assert_eq!(err, "display_name: at most 80 characters");

    let err = register(&object(json!({ "bio": "a\u{0}b" }))).unwrap_err();
    assert_eq!(err, "bio: must not contain NUL");
}

#[test]
fn new_user_checks_account_and_email() {
    let new = |account: String, email: Option<String>| {
        Member::new_user(NewUser {
            account,
            password_hash: HASH.into(),
            email,
            extra: &Map::new(),
        })
    };
    assert_eq!(
        new("a".repeat(151), None).unwrap_err(),
        "account: at most 150 characters"
    );
    assert!(new("a".repeat(150), None).is_ok());
    assert_eq!(
        new("a\0b".into(), None).unwrap_err(),
        "account: must not contain NUL"
    );
    let long_email = format!("{}@example.com", "e".repeat(250));
    assert_eq!(
        new("dave".into(), Some(long_email)).unwrap_err(),
        "email: at most 254 characters"
    );
    assert_eq!(new("dave".into(), None).unwrap().email, None);

    // A `String` e-mail is required; a model without one refuses it.
    let minimal = |email: Option<String>| {
        Minimal::new_user(NewUser {
            account: "erin".into(),
            password_hash: "h".into(),
            email,
            extra: &Map::new(),
        })
    };
    assert_eq!(minimal(None).err().as_deref(), Some("email: required"));
    assert_eq!(minimal(Some("e@x.org".into())).unwrap().email, "e@x.org");
    let bare = Bare::new_user(NewUser {
        account: "frank".into(),
        password_hash: "h".into(),
        email: Some("f@x.org".into()),
        extra: &Map::new(),
    });
    assert_eq!(
        bare.err().as_deref(),
        Some("email: this user model has no e-mail field")
    );
}

#[test]
fn new_user_refuses_keys_that_are_not_custom_fields() {
    for key in [
        "is_superuser",
        "username",
        "password",
        "id",
        "email",
        "account",
    ] {
        let err = register(&object(json!({ key: true }))).unwrap_err();
        assert_eq!(err, format!("{key}: not a custom field"));
    }
    let err = register(&object(json!({ "foo": 1 }))).unwrap_err();
    assert_eq!(err, "foo: unknown field");
    // Keys are checked before any value is decoded.
    let err = register(&object(json!({ "age": "bad", "foo": 1 }))).unwrap_err();
    assert_eq!(err, "foo: unknown field");

    let err = Bare::new_user(NewUser {
        account: "g".into(),
        password_hash: "h".into(),
        email: None,
        extra: &object(json!({ "is_active": false })),
    })
    .err();
    assert_eq!(err.as_deref(), Some("is_active: not a custom field"));
}

#[test]
fn apply_changes_sets_email_and_custom_fields() {
    let mut m = member();
    let changes = object(json!({
        "email": "new@example.com",
        "display_name": "Ally",
        "bio": "hi",
        "age": 31,
        "birthday": "2000-01-02T03:04:05Z",
    }));
    m.apply_changes(&changes).expect("valid changes");
    assert_eq!(m.email.as_deref(), Some("new@example.com"));
    assert_eq!(m.display_name, "Ally");
    assert_eq!(m.bio.as_deref(), Some("hi"));
    assert_eq!(m.age, 31);
    assert_eq!(m.birthday, Some(datetime!(2000-01-02 03:04:05)));
    // Untouched fields keep their values.
    assert_eq!(m.username, "alice");
    assert!(m.newsletter);
    assert_eq!(m.score, 1.5);

    m.apply_changes(&object(json!({ "email": null, "bio": null })))
        .expect("nullable fields accept null");
    assert_eq!((m.email, m.bio), (None, None));

    // A `String` e-mail is never null.
    let mut minimal = Minimal {
        id: 1,
        account: "bob".into(),
        password: "h".into(),
        email: "b@x.org".into(),
    };
    let err = minimal
        .apply_changes(&object(json!({ "email": null })))
        .unwrap_err();
    assert!(err.starts_with("email: expected"), "{err}");
    minimal
        .apply_changes(&object(json!({ "email": "c@x.org" })))
        .unwrap();
    assert_eq!(minimal.email, "c@x.org");
    let err = minimal
        .apply_changes(&object(
            json!({ "email": format!("{}@x.org", "b".repeat(250)) }),
        ))
        .unwrap_err();
    assert_eq!(err, "email: at most 254 characters");
}

#[test]
fn apply_changes_refuses_role_and_unknown_keys() {
    for key in [
        "id",
        "username",
        "account",
        "password",
        "is_superuser",
        "is_active",
        "is_verified",
        "last_login",
        "date_joined",
    ] {
        let mut m = member();
        let err = m.apply_changes(&object(json!({ key: 1 }))).unwrap_err();
        assert_eq!(err, format!("{key}: cannot be changed here"));
    }
    let mut m = member();
    let err = m.apply_changes(&object(json!({ "nope": 1 }))).unwrap_err();
    assert_eq!(err, "nope: unknown field");

    let mut bare = Bare {
        user_id: 3,
        login: "g".into(),
        hash: "h".into(),
    };
    assert_eq!(bare.apply_changes(&Map::new()), Ok(()));
    let err = bare
        .apply_changes(&object(json!({ "email": "g@x.org" })))
        .unwrap_err();
    assert_eq!(err, "email: this user model has no e-mail field");
    let err = bare
        .apply_changes(&object(json!({ "login": "x" })))
        .unwrap_err();
    assert_eq!(err, "login: cannot be changed here");
    let err = bare.apply_changes(&object(json!({ "x": 1 }))).unwrap_err();
    assert_eq!(err, "x: unknown field");
}

#[test]
fn apply_changes_is_all_or_nothing() {
    let original = member();
    for changes in [
        // A bad value after good ones (keys are in the map's order).
        json!({ "age": 50, "bio": "changed", "display_name": "x".repeat(81) }),
        json!({ "age": 50, "bio": "changed", "email": "ok@example.com", "score": "high" }),
        // A refused key after good ones.
        json!({ "age": 50, "bio": "changed", "is_superuser": true }),
        json!({ "age": 50, "bio": "changed", "zzz": 1 }),
    ] {
        let mut m = original.clone();
        assert!(
            m.apply_changes(&object(changes.clone())).is_err(),
            "{changes}"
        );
        assert_eq!(
            format!("{m:?}"),
            format!("{original:?}"),
            "nothing changed by {changes}"
        );
    }
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

#[test]
fn flag_setters_set_the_field_or_refuse_without_one() {
    let mut m = member();
    assert_eq!(m.set_active(false), Ok(()));
    assert!(!m.is_active());
    assert_eq!(m.set_superuser(true), Ok(()));
    assert!(m.is_superuser());
    let mut bare = Bare {
        user_id: 3,
        login: "g".into(),
        hash: "h".into(),
    };
    assert_eq!(
        bare.set_active(false).unwrap_err(),
        "this user model has no is_active field"
    );
    assert!(bare.is_active(), "still active");
    assert_eq!(
        bare.set_superuser(true).unwrap_err(),
        "this user model has no is_superuser field"
    );
    assert!(!bare.is_superuser());
}

#[test]
fn user_filter_pattern_escapes_like_wildcards() {
    use auth_axum::UserFilter;
    let filter = |text: &str| UserFilter {
        account_contains: Some(text.into()),
        ..UserFilter::default()
    };
    assert_eq!(filter("ann").account_pattern().as_deref(), Some("%ann%"));
    assert_eq!(
        filter("a_b%c!d").account_pattern().as_deref(),
        Some("%a!_b!%c!!d%")
    );
    assert_eq!(UserFilter::default().account_pattern(), None);
}
