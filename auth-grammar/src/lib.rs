//! The rules the axum auth framework checks twice: at compile time in its macros
//! (`auth-macros`, which as a proc-macro crate cannot depend on the runtime) and at run time
//! in `auth-core`. They live here once, so the two cannot drift apart:
//!
//! - [`permission`]: what a permission code looks like;
//! - [`limits`]: the length limits of account names, e-mail addresses and password hashes;
//! - [`column`](mod@column): the portable column types a user model can use, and their defaults.
//!
//! Applications do not depend on this crate directly: `auth-axum` re-exports what they need.

pub mod column;
pub mod limits;
pub mod permission;

pub use column::{ColumnType, DefaultValue};
