//! Storage on every backend: migrations, the derived user's round trip, unique constraints,
//! and makemigrations' ALTER path.

use auth_axum::auth_core::migrate::{self, AppMigrations};
use auth_axum::{Error, UserStore, auth_core::makemigrations::makemigrations};
use auth_tests::model::{v1, v2};
use auth_tests::{TestDb, backend_tests};
use time::macros::datetime;

fn alice() -> v1::User {
    v1::User {
        id: 0,
        account: "alice".into(),
        password: "$2b$12$hashhashhashhashhashhashhashhashhashhashhashhashhashh".into(),
        email: Some("alice@example.com".into()),
        is_superuser: false,
        is_active: true,
        is_verified: false,
        last_login: None,
        date_joined: datetime!(2026-11-23 10:00:00.123456),
        first_name: "Alice".into(),
        last_name: "Liddell".into(),
        nickname: Some("al".into()),
        age: 33,
        newsletter: true,
        external_id: uuid::Uuid::new_v4(),
        birthday: Some(datetime!(1993-04-05 00:00)),
    }
}

/// Generates the user table's migrations in a fresh folder and applies everything.
async fn migrate_v1(t: &TestDb) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let written =
        makemigrations(&<v1::User as auth_axum::AuthUser>::TABLE, dir.path(), None).unwrap();
    assert_eq!(written.len(), 3, "one migration per backend");
    let applied = migrate::run(&t.db, &AppMigrations::Directory(dir.path().into()))
        .await
        .unwrap();
    // Core tables first, then the user table (Diesel records versions without dashes).
    let user_version: String = written[0]
        .path
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .split('_')
        .next()
        .unwrap()
        .replace('-', "");
    assert_eq!(
        applied.first().map(String::as_str),
        Some("00000000000001"),
        "{applied:?}"
    );
    assert_eq!(applied.last(), Some(&user_version), "{applied:?}");
    assert!(
        applied[..applied.len() - 1]
            .iter()
            .all(|v| v.starts_with("0000000000")),
        "{applied:?}"
    );
    dir
}

async fn migrations_are_idempotent(t: TestDb) {
    let dir = migrate_v1(&t).await;
    let again = migrate::run(&t.db, &AppMigrations::Directory(dir.path().into()))
        .await
        .unwrap();
    assert!(again.is_empty(), "second run applied {again:?}");
    // Only the core set: nothing pending either.
    assert!(
        migrate::run(&t.db, &AppMigrations::None)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn user_round_trip(t: TestDb) {
    let _dir = migrate_v1(&t).await;
    let mut conn = t.db.conn().await.unwrap();
    let original = alice();
    let stored = original.insert(&mut conn).await.unwrap();
    assert!(stored.id > 0);
    assert_eq!(
        stored,
        v1::User {
            id: stored.id,
            ..original
        },
        "every column survives the trip"
    );

    let by_id = v1::User::find_by_id(&mut conn, stored.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_id, stored);
    let by_account = v1::User::find_by_account(&mut conn, "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_account, stored);
    assert!(
        v1::User::find_by_account(&mut conn, "ALICE")
            .await
            .unwrap()
            .is_none(),
        "account lookups are exact"
    );
    assert!(
        v1::User::find_by_id(&mut conn, stored.id + 100)
            .await
            .unwrap()
            .is_none()
    );

    let mut changed = stored.clone();
    changed.first_name = "Alicia".into();
    changed.nickname = None;
    changed.age = 34;
    changed.newsletter = false;
    changed.birthday = None;
    changed.is_verified = true;
    changed.last_login = Some(datetime!(2026-11-23 12:00:00));
    assert!(changed.update(&mut conn).await.unwrap());
    assert!(
        changed.update(&mut conn).await.unwrap(),
        "an unchanged row still counts as found"
    );
    let reread = v1::User::find_by_id(&mut conn, stored.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reread, changed);

    let ghost = v1::User {
        id: stored.id + 100,
        ..changed.clone()
    };
    assert!(
        !ghost.update(&mut conn).await.unwrap(),
        "updating a missing row reports false"
    );

    assert!(v1::User::delete(&mut conn, stored.id).await.unwrap());
    assert!(!v1::User::delete(&mut conn, stored.id).await.unwrap());
    assert!(
        v1::User::find_by_id(&mut conn, stored.id)
            .await
            .unwrap()
            .is_none()
    );
}

async fn unique_account_and_email(t: TestDb) {
    let _dir = migrate_v1(&t).await;
    let mut conn = t.db.conn().await.unwrap();
    let first = alice().insert(&mut conn).await.unwrap();

    let same_account = v1::User {
        email: Some("other@example.com".into()),
        ..alice()
    };
    let err = same_account.insert(&mut conn).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");

    let same_email = v1::User {
        account: "bob".into(),
        ..alice()
    };
    let err = same_email.insert(&mut conn).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");

    // Nothing half-written, and the connection is still usable after the failed writes.
    assert!(
        v1::User::find_by_account(&mut conn, "bob")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        v1::User::find_by_account(&mut conn, "alice")
            .await
            .unwrap()
            .unwrap(),
        first
    );

    // NULL e-mails do not collide with each other.
    for account in ["carol", "dave"] {
        v1::User {
            account: account.into(),
            email: None,
            ..alice()
        }
        .insert(&mut conn)
        .await
        .unwrap();
    }
}

async fn makemigrations_adds_a_column(t: TestDb) {
    let dir = migrate_v1(&t).await;
    let mut conn = t.db.conn().await.unwrap();
    let old = alice().insert(&mut conn).await.unwrap();

    // Unchanged model: nothing written.
    let table_v1 = <v1::User as auth_axum::AuthUser>::TABLE;
    assert!(
        makemigrations(&table_v1, dir.path(), None)
            .unwrap()
            .is_empty()
    );

    // One new field: an ALTER TABLE per backend, and then nothing again.
    let table_v2 = <v2::User as auth_axum::AuthUser>::TABLE;
    let written = makemigrations(&table_v2, dir.path(), None).unwrap();
    assert_eq!(written.len(), 3);
    for w in &written {
        let up = std::fs::read_to_string(w.path.join("up.sql")).unwrap();
        assert!(up.contains("ALTER TABLE") && up.contains("score"), "{up}");
        let down = std::fs::read_to_string(w.path.join("down.sql")).unwrap();
        assert!(down.contains("DROP COLUMN"), "{down}");
    }
    assert!(
        makemigrations(&table_v2, dir.path(), None)
            .unwrap()
            .is_empty()
    );

    let applied = migrate::run(&t.db, &AppMigrations::Directory(dir.path().into()))
        .await
        .unwrap();
    assert_eq!(applied.len(), 1, "{applied:?}");

    // The existing row reads back through the new model with the column's default.
    let migrated = v2::User::find_by_id(&mut conn, old.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(migrated.score, 0);
    assert_eq!(migrated.first_name, "Alice");
    let mut scored = migrated.clone();
    scored.score = 42;
    assert!(scored.update(&mut conn).await.unwrap());
    assert_eq!(
        v2::User::find_by_id(&mut conn, old.id)
            .await
            .unwrap()
            .unwrap()
            .score,
        42
    );
}

async fn record_login_sets_last_login(t: TestDb) {
    let _dir = migrate_v1(&t).await;
    let mut conn = t.db.conn().await.unwrap();
    let stored = alice().insert(&mut conn).await.unwrap();
    assert_eq!(stored.last_login, None);
    let other = v1::User {
        account: "bob".into(),
        email: None,
        ..alice()
    }
    .insert(&mut conn)
    .await
    .unwrap();

    let at = datetime!(2026-11-23 12:00:00.5);
    v1::User::record_login(&mut conn, stored.id, at)
        .await
        .unwrap();
    let reread = v1::User::find_by_id(&mut conn, stored.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reread.last_login, Some(at));
    assert_eq!(
        reread,
        v1::User {
            last_login: Some(at),
            ..stored
        },
        "only last_login changes"
    );
    assert_eq!(
        v1::User::find_by_id(&mut conn, other.id)
            .await
            .unwrap()
            .unwrap()
            .last_login,
        None,
        "other rows are untouched"
    );

    // A later login overwrites it; a missing id is not an error.
    let later = datetime!(2026-11-24 08:30:15.123456);
    v1::User::record_login(&mut conn, stored.id, later)
        .await
        .unwrap();
    v1::User::record_login(&mut conn, stored.id + 100, later)
        .await
        .unwrap();
    assert_eq!(
        v1::User::find_by_id(&mut conn, stored.id)
            .await
            .unwrap()
            .unwrap()
            .last_login,
        Some(later)
    );
}

backend_tests!(
    migrations_are_idempotent,
    user_round_trip,
    unique_account_and_email,
    makemigrations_adds_a_column,
    record_login_sets_last_login,
);
