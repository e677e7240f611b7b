//! The integration tests, one binary: each module was a test binary of its own, and linking
//! thirty of them against the whole stack was most of CI's time and disk. Modules share the
//! process, so a test must not rely on process-wide state (Diesel's default
//! instrumentation is why `query_count` and `query_plans` stay binaries of their own, and
//! `catalog` runs trybuild).

mod account_changes;
mod account_names;
mod admin;
mod api_keys;
mod audit;
mod authority;
mod cli;
mod csrf;
mod env_config;
mod escalation;
mod faults;
mod guards;
mod http_auth;
mod http_concurrency;
mod http_input;
mod http_layer;
mod http_pool;
mod http_sessions;
mod instances;
mod jwt;
mod ldap;
mod lifecycle;
mod mail;
mod mfa;
mod minimal_model;
mod oauth;
mod openapi;
mod passkeys;
mod password_policy;
mod rbac_manage;
mod recovery;
mod revocation_races;
mod storage;
mod throttle;

/// Every file of this folder is a module of this binary: a file left out of the list above
/// would never compile nor run.
#[test]
fn every_file_is_a_module() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/all");
    let main = include_str!("main.rs");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the tests/all folder") {
        let name = entry.expect("a folder entry").file_name();
        let name = name.to_string_lossy();
        if let Some(module) = name.strip_suffix(".rs")
            && module != "main"
            && !main.contains(&format!("\nmod {module};\n"))
        {
            missing.push(name.into_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "not declared in tests/all/main.rs: {missing:?}"
    );
}
