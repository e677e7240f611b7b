//! Says, when the tests are built, which database servers they will skip: the per-test
//! notices are captured by the test harness for passing tests.
fn main() {
    for (var, name) in [
        ("AUTH_TEST_POSTGRES_URL", "PostgreSQL"),
        ("AUTH_TEST_MYSQL_URL", "MySQL/MariaDB"),
    ] {
        println!("cargo:rerun-if-env-changed={var}");
        if std::env::var_os(var).is_none() {
            println!(
                "cargo:warning={var} is not set: the {name} cases of the auth tests will be skipped (SQLite always runs)"
            );
        }
    }
}
