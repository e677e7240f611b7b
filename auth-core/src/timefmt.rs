//! Serde format for the UTC `PrimitiveDateTime`s the database stores: RFC 3339 with `Z`.

use serde::Serializer;
use time::PrimitiveDateTime;
use time::format_description::well_known::Rfc3339;

/// Serializes a UTC timestamp as RFC 3339 (`2026-11-23T14:30:00.123456Z`).
pub(crate) fn serialize<S: Serializer>(
    value: &PrimitiveDateTime,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let text = value
        .assume_utc()
        .format(&Rfc3339)
        .map_err(serde::ser::Error::custom)?;
    serializer.serialize_str(&text)
}

/// The same for an optional timestamp (`null` when absent).
pub(crate) mod option {
    use super::*;

    /// Serializes `Some` as RFC 3339, `None` as `null`.
    pub(crate) fn serialize<S: Serializer>(
        value: &Option<PrimitiveDateTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => super::serialize(v, serializer),
            None => serializer.serialize_none(),
        }
    }
}
