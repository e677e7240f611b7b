//! The quickstart binary at start-up: a bad variable stops it with one sentence naming the
//! variable (not a debug dump), before anything is served or written.

use std::process::Command;

#[test]
fn a_bad_variable_is_a_sentence_naming_it() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .current_dir(dir.path())
        .env("AUTH_BCRYPT_COST", "99")
        .env("DATABASE_URL", "sqlite://startup-test.db")
        .output()
        .expect("the quickstart runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim_end(),
        "error: AUTH_BCRYPT_COST: expected a bcrypt cost from 4 to 31",
        "{stderr}"
    );
    assert!(
        !dir.path().join("startup-test.db").exists(),
        "nothing is written before the settings are read"
    );
}
