//! Rebuilds the crate when a migration is added: `embed_migrations!` embeds the files it
//! finds, and cargo would not otherwise notice a new folder.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
