//! Rebuilds when `makemigrations` writes new files, so the embedded migrations stay current.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
