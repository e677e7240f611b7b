//! The permission catalog end to end: trybuild compiles small programs in a project folder
//! of its own (`<target>/tests/trybuild/<crate>`, which becomes their `CARGO_MANIFEST_DIR`),
//! where this test first writes a `permissions.toml`. Relying on that layout is deliberate:
//! it is how trybuild has worked for years, and this is the only way to compile a guard
//! against a catalog from a test. Should it change, this test fails loudly, not silently.

use std::path::PathBuf;

const CATALOG: &str = r#"[permissions]
"article.create" = "Create articles"
"article.delete" = "Delete articles"
"#;

#[test]
fn a_misspelt_permission_does_not_compile() {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    // trybuild's project folder for this crate (its CARGO_MANIFEST_DIR at compile time).
    let project = target
        .join("tests")
        .join("trybuild")
        .join(env!("CARGO_PKG_NAME"));
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("permissions.toml"), CATALOG).unwrap();
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/catalog/misspelt.rs");
    t.pass("ui/catalog/declared.rs");
}
