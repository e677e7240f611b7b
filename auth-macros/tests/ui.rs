//! Compile-time behaviour of the macros: accepted input and error messages.
//!
//! Run one case with `cargo test -p auth-macros --test ui -- trybuild=<file>.rs`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    // #[derive(AuthUser)]
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
    // #[login_required], #[permission_required], #[role_required]
    t.compile_fail("tests/ui/guard_fail/*.rs");
    t.pass("tests/ui/guard_pass/*.rs");
}
