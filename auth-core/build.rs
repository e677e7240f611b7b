//! Rebuilds the crate when a migration is added: `embed_migrations!` embeds the files it
//! finds, and cargo would not otherwise notice a new folder.
//!
//! Sets `cfg(auth_backend)` when at least one backend feature (`sqlite`, `postgres`,
//! `mysql`) is on: without one, lib.rs leaves every module out and reports only its
//! `compile_error!`.

fn main() {
    println!("cargo::rerun-if-changed=migrations");
    println!("cargo::rustc-check-cfg=cfg(auth_backend)");
    let backends = ["SQLITE", "POSTGRES", "MYSQL"];
    if backends
        .iter()
        .any(|b| std::env::var_os(format!("CARGO_FEATURE_{b}")).is_some())
    {
        println!("cargo::rustc-cfg=auth_backend");
    }
}
