//! A backend-neutral description of a table, produced at compile time by
//! `#[derive(AuthUser)]` and turned into SQL by `crate::ddl`.

use serde::{Deserialize, Serialize};

pub use auth_grammar::{ColumnType, DefaultValue};

/// One column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ColumnDef {
    /// Column name (the Rust field name).
    pub name: &'static str,
    /// Portable type.
    pub ty: ColumnType,
    /// Whether the column accepts NULL (an `Option<T>` field).
    pub nullable: bool,
    /// Whether a unique index covers the column.
    pub unique: bool,
    /// Whether this is the auto-increment primary key.
    pub primary_key: bool,
    /// `VARCHAR` length for text columns; `None` means unbounded `TEXT`.
    pub max_length: Option<u32>,
    /// Default for inserts and for `ALTER TABLE ... ADD COLUMN`.
    pub default: Option<DefaultValue>,
}

/// A table: its name and its columns in declaration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TableDef {
    /// Table name.
    pub name: &'static str,
    /// Columns in declaration order; exactly one is the primary key.
    pub columns: &'static [ColumnDef],
}

impl TableDef {
    /// The column with this name, if any.
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }
}
