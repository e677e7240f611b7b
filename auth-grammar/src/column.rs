//! The portable column types of a user model and their insert defaults.

/// The portable column types a user model can use.
///
/// Each maps to a native type of every backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum ColumnType {
    /// `i16`.
    SmallInt,
    /// `i32`.
    Integer,
    /// `i64`.
    BigInt,
    /// `f32`.
    Float,
    /// `f64`.
    Double,
    /// `bool`.
    Bool,
    /// `String`: `TEXT`, or `VARCHAR(n)` when a maximum length is given.
    Text,
    /// `time::PrimitiveDateTime`, stored as UTC without an offset.
    Timestamp,
    /// `uuid::Uuid`: native `uuid` on PostgreSQL, 36-character text elsewhere.
    Uuid,
}

impl ColumnType {
    /// Every type, in declaration order.
    pub const ALL: [ColumnType; 9] = [
        ColumnType::SmallInt,
        ColumnType::Integer,
        ColumnType::BigInt,
        ColumnType::Float,
        ColumnType::Double,
        ColumnType::Bool,
        ColumnType::Text,
        ColumnType::Timestamp,
        ColumnType::Uuid,
    ];

    /// The variant's name (`"SmallInt"`), as generated code names it.
    pub const fn name(self) -> &'static str {
        match self {
            ColumnType::SmallInt => "SmallInt",
            ColumnType::Integer => "Integer",
            ColumnType::BigInt => "BigInt",
            ColumnType::Float => "Float",
            ColumnType::Double => "Double",
            ColumnType::Bool => "Bool",
            ColumnType::Text => "Text",
            ColumnType::Timestamp => "Timestamp",
            ColumnType::Uuid => "Uuid",
        }
    }
}

/// The default a column receives when a row is inserted without it (and when the column is
/// added to a table that already has rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum DefaultValue {
    /// Boolean `TRUE` / `FALSE`.
    Bool(bool),
    /// Integer zero.
    Zero,
    /// The empty string.
    EmptyString,
    /// The current time at insert.
    CurrentTimestamp,
}
