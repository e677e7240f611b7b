//! Portable SQL types: one Diesel type that maps to a native column type on every backend.
//!
//! The `ToSql` / `FromSql` impls exist for the backends compiled in only (Cargo features
//! `sqlite`, `postgres`, `mysql`); Diesel's derive likewise emits the `HasSqlType` impls
//! only for the backends Diesel is built with.

use diesel::deserialize::{self, FromSql};
#[cfg(feature = "mysql")]
use diesel::mysql::{Mysql, MysqlValue};
#[cfg(feature = "postgres")]
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
#[cfg(feature = "sqlite")]
use diesel::sql_types::Text;
#[cfg(feature = "sqlite")]
use diesel::sqlite::Sqlite;
#[cfg(any(feature = "postgres", feature = "mysql"))]
use std::io::Write;

/// A UUID column: `uuid` on PostgreSQL, its 36-character hyphenated text on SQLite and
/// MySQL (`CHAR(36)`). Rust type: [`uuid::Uuid`].
///
/// `uuid::Uuid` cannot implement Diesel's `AsExpression` for a type outside Diesel, so bind
/// values explicitly with [`crate::__private::bind`] (generated code does).
#[derive(
    Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
)]
#[diesel(postgres_type(oid = 2950, array_oid = 2951))]
#[diesel(sqlite_type(name = "Text"))]
#[diesel(mysql_type(name = "String"))]
pub struct PortableUuid;

#[cfg(feature = "sqlite")]
impl ToSql<PortableUuid, Sqlite> for uuid::Uuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.hyphenated().to_string());
        Ok(IsNull::No)
    }
}

#[cfg(feature = "postgres")]
impl ToSql<PortableUuid, Pg> for uuid::Uuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.as_bytes())?;
        Ok(IsNull::No)
    }
}

#[cfg(feature = "mysql")]
impl ToSql<PortableUuid, Mysql> for uuid::Uuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Mysql>) -> serialize::Result {
        let mut buf = uuid::Uuid::encode_buffer();
        out.write_all(self.hyphenated().encode_lower(&mut buf).as_bytes())?;
        Ok(IsNull::No)
    }
}

#[cfg(feature = "sqlite")]
impl FromSql<PortableUuid, Sqlite> for uuid::Uuid {
    fn from_sql(
        value: <Sqlite as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        Ok(uuid::Uuid::parse_str(&text)?)
    }
}

#[cfg(feature = "postgres")]
impl FromSql<PortableUuid, Pg> for uuid::Uuid {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(uuid::Uuid::from_slice(value.as_bytes())?)
    }
}

#[cfg(feature = "mysql")]
impl FromSql<PortableUuid, Mysql> for uuid::Uuid {
    fn from_sql(value: MysqlValue<'_>) -> deserialize::Result<Self> {
        Ok(uuid::Uuid::try_parse_ascii(value.as_bytes())?)
    }
}
