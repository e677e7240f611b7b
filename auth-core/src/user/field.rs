//! JSON encoding and decoding of user-model fields, shared by the code `#[derive(AuthUser)]`
//! generates: the `Serialize` impl (encoding), registration and `PATCH me` (decoding).
//!
//! Timestamps are RFC 3339 in UTC (`2026-11-23T14:30:00Z`); an input with an offset is
//! converted to UTC. Text is refused when it holds a NUL character (PostgreSQL cannot store
//! it) or is longer than the column's `max_length` (counted in characters).

use serde::Serializer;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A type a user-model field can have.
pub trait FieldCodec: Sized {
    /// Writes the value as JSON.
    fn encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;
    /// Reads the value from JSON; the error names `field`.
    fn decode(field: &str, value: &Value) -> Result<Self, String>;
    /// The value of a field a registration leaves out.
    fn initial() -> Self;
    /// Checks constraints beyond the type (text: NUL, length).
    fn check(&self, _field: &str, _max_length: Option<u32>) -> Result<(), String> {
        Ok(())
    }
}

fn type_error(field: &str, expected: &str) -> String {
    format!("{field}: expected {expected}")
}

macro_rules! integer_codec {
    ($($t:ty),*) => {$(
        impl FieldCodec for $t {
            fn encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serde::Serialize::serialize(self, serializer)
            }
            fn decode(field: &str, value: &Value) -> Result<Self, String> {
                value
                    .as_i64()
                    .and_then(|n| <$t>::try_from(n).ok())
                    .ok_or_else(|| type_error(field, concat!("an integer that fits ", stringify!($t))))
            }
            fn initial() -> Self {
                0
            }
        }
    )*};
}
integer_codec!(i16, i32, i64);

impl FieldCodec for f64 {
    fn encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(*self)
    }
    fn decode(field: &str, value: &Value) -> Result<Self, String> {
        value.as_f64().ok_or_else(|| type_error(field, "a number"))
    }
    fn initial() -> Self {
        0.0
    }
}

impl FieldCodec for f32 {
    fn encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f32(*self)
    }
    fn decode(field: &str, value: &Value) -> Result<Self, String> {
        let n = value
            .as_f64()
            .ok_or_else(|| type_error(field, "a number"))?;
        let narrow = n as f32;
        if narrow.is_finite() {
            Ok(narrow)
        } else {
            Err(type_error(field, "a number that fits f32"))
        }
    }
    fn initial() -> Self {
        0.0
    }
}

impl FieldCodec for bool {
    fn encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(*self)
    }
    fn decode(field: &str, value: &Value) -> Result<Self, String> {
        value
            .as_bool()
            .ok_or_else(|| type_error(field, "true or false"))
    }
    fn initial() -> Self {
        false
    }
}

impl FieldCodec for String {
    fn encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self)
    }
    fn decode(field: &str, value: &Value) -> Result<Self, String> {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| type_error(field, "a string"))
    }
    fn initial() -> Self {
        String::new()
    }
    fn check(&self, field: &str, max_length: Option<u32>) -> Result<(), String> {
        if self.contains('\0') {
            return Err(format!("{field}: must not contain NUL"));
        }
        if let Some(max) = max_length
            && self.chars().count() > max as usize
        {
            return Err(format!("{field}: at most {max} characters"));
        }
        Ok(())
    }
}

impl FieldCodec for uuid::Uuid {
    fn encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.hyphenated())
    }
    fn decode(field: &str, value: &Value) -> Result<Self, String> {
        value
            .as_str()
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .ok_or_else(|| type_error(field, "a UUID string"))
    }
    fn initial() -> Self {
        uuid::Uuid::new_v4()
    }
}

impl FieldCodec for PrimitiveDateTime {
    fn encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::timefmt::serialize(self, serializer)
    }
    fn decode(field: &str, value: &Value) -> Result<Self, String> {
        let parsed = value
            .as_str()
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
            .ok_or_else(|| type_error(field, "an RFC 3339 date-time such as 2026-11-23T14:30:00Z"))?
            .to_offset(UtcOffset::UTC);
        Ok(truncate_to_micros(PrimitiveDateTime::new(
            parsed.date(),
            parsed.time(),
        )))
    }
    fn initial() -> Self {
        crate::session::now()
    }
}

/// Databases keep microseconds; so do decoded values, so that what is read back equals what
/// was written.
fn truncate_to_micros(t: PrimitiveDateTime) -> PrimitiveDateTime {
    t.replace_nanosecond(t.microsecond() * 1000).unwrap_or(t)
}

impl<T: FieldCodec> FieldCodec for Option<T> {
    fn encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Some(v) => v.encode(serializer),
            None => serializer.serialize_none(),
        }
    }
    fn decode(field: &str, value: &Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            other => T::decode(field, other).map(Some),
        }
    }
    fn initial() -> Self {
        None
    }
    fn check(&self, field: &str, max_length: Option<u32>) -> Result<(), String> {
        match self {
            Some(v) => v.check(field, max_length),
            None => Ok(()),
        }
    }
}

/// Serializes a field through its [`FieldCodec`]: `serialize_field(name, &Encoded(&self.f))`.
pub struct Encoded<'a, T>(pub &'a T);

impl<T: FieldCodec> serde::Serialize for Encoded<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.encode(serializer)
    }
}

/// Decodes and checks one field value.
pub fn decode<T: FieldCodec>(
    field: &str,
    value: &Value,
    max_length: Option<u32>,
) -> Result<T, String> {
    let decoded = T::decode(field, value)?;
    decoded.check(field, max_length)?;
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decoding() {
        assert_eq!(decode::<i32>("age", &json!(33), None), Ok(33));
        assert!(decode::<i16>("n", &json!(70000), None).is_err());
        assert!(
            decode::<i32>("age", &json!("33"), None)
                .unwrap_err()
                .starts_with("age: expected")
        );
        assert_eq!(
            decode::<Option<String>>("nick", &json!(null), None),
            Ok(None)
        );
        assert!(decode::<String>("name", &json!("a\u{0}b"), None).is_err());
        assert!(decode::<String>("name", &json!("abcd"), Some(3)).is_err());
        assert!(decode::<String>("name", &json!("äöü"), Some(3)).is_ok());
        let t: PrimitiveDateTime =
            decode("t", &json!("2026-11-23T16:30:00.1234567+02:00"), None).unwrap();
        assert_eq!(t, time::macros::datetime!(2026-11-23 14:30:00.123456));
        assert!(decode::<uuid::Uuid>("u", &json!("nope"), None).is_err());
    }

    #[test]
    fn encoding() {
        let t = time::macros::datetime!(2026-11-23 14:30:00);
        assert_eq!(
            serde_json::to_value(Encoded(&t)).unwrap(),
            json!("2026-11-23T14:30:00Z")
        );
        assert_eq!(
            serde_json::to_value(Encoded(&Some(5i64))).unwrap(),
            json!(5)
        );
        assert_eq!(
            serde_json::to_value(Encoded(&None::<bool>)).unwrap(),
            json!(null)
        );
    }
}
