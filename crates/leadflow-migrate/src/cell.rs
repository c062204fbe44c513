//! One value on its way from SQLite to PostgreSQL. SQLite keeps a value's own type, whatever
//! the column says; PostgreSQL's binary COPY takes exactly the column's type. So each value is
//! converted by the target column's type, and one that has no exact counterpart there (a 2 where
//! a boolean is expected, text that is not UTF-8) stops the copy with its place, instead of being
//! guessed at.

use postgres::types::{ToSql, Type};
use rusqlite::types::ValueRef;

/// The PostgreSQL types leadflow's schema uses, which are all a copy needs to fill.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    BigInt,
    Double,
    Boolean,
    Text,
    Bytes,
}

/// A value for a column of its kind; `None` is NULL (typed, as the driver wants it).
#[derive(Debug)]
pub enum Cell<'a> {
    BigInt(Option<i64>),
    Double(Option<f64>),
    Boolean(Option<bool>),
    Text(Option<&'a str>),
    Bytes(Option<&'a [u8]>),
}

impl Kind {
    pub fn of(ty: &Type) -> Option<Kind> {
        Some(match *ty {
            Type::INT8 => Kind::BigInt,
            Type::FLOAT8 => Kind::Double,
            Type::BOOL => Kind::Boolean,
            Type::TEXT => Kind::Text,
            Type::BYTEA => Kind::Bytes,
            _ => return None,
        })
    }

    /// The source's value as this kind, or why it cannot be one.
    pub fn cell(self, value: ValueRef<'_>) -> Result<Cell<'_>, String> {
        Ok(match (self, value) {
            (Kind::BigInt, ValueRef::Null) => Cell::BigInt(None),
            (Kind::Double, ValueRef::Null) => Cell::Double(None),
            (Kind::Boolean, ValueRef::Null) => Cell::Boolean(None),
            (Kind::Text, ValueRef::Null) => Cell::Text(None),
            (Kind::Bytes, ValueRef::Null) => Cell::Bytes(None),
            (Kind::BigInt, ValueRef::Integer(i)) => Cell::BigInt(Some(i)),
            (Kind::Double, ValueRef::Real(x)) => Cell::Double(Some(x)),
            // A column without REAL affinity keeps a whole number as an integer; as a double it
            // is exact up to 2^53, beyond any count or amount a lead carries.
            (Kind::Double, ValueRef::Integer(i)) => Cell::Double(Some(i as f64)),
            // SQLite has no booleans: the store writes 0 and 1, and only those are one.
            (Kind::Boolean, ValueRef::Integer(0)) => Cell::Boolean(Some(false)),
            (Kind::Boolean, ValueRef::Integer(1)) => Cell::Boolean(Some(true)),
            (Kind::Text, ValueRef::Text(bytes)) => {
                let text = std::str::from_utf8(bytes).map_err(|e| format!("text that is not UTF-8 ({e})"))?;
                if text.contains('\0') {
                    return Err("text with a NUL character, which PostgreSQL's text cannot hold".into());
                }
                Cell::Text(Some(text))
            }
            (Kind::Bytes, ValueRef::Blob(bytes)) => Cell::Bytes(Some(bytes)),
            (kind, value) => return Err(format!("{} where {} is expected", described(value), kind.name())),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Kind::BigInt => "an integer (BIGINT)",
            Kind::Double => "a number (DOUBLE PRECISION)",
            Kind::Boolean => "0 or 1 (BOOLEAN)",
            Kind::Text => "text (TEXT)",
            Kind::Bytes => "bytes (BYTEA)",
        }
    }
}

impl Cell<'_> {
    pub fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Cell::BigInt(v) => v,
            Cell::Double(v) => v,
            Cell::Boolean(v) => v,
            Cell::Text(v) => v,
            Cell::Bytes(v) => v,
        }
    }
}

fn described(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => format!("the integer {i}"),
        ValueRef::Real(x) => format!("the number {x}"),
        ValueRef::Text(_) => "text".into(),
        ValueRef::Blob(_) => "a blob".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_convert_exactly_or_say_why_not() {
        assert!(matches!(Kind::Boolean.cell(ValueRef::Integer(1)), Ok(Cell::Boolean(Some(true)))));
        assert!(matches!(Kind::Boolean.cell(ValueRef::Integer(0)), Ok(Cell::Boolean(Some(false)))));
        assert!(matches!(Kind::Boolean.cell(ValueRef::Null), Ok(Cell::Boolean(None))));
        let two = Kind::Boolean.cell(ValueRef::Integer(2)).unwrap_err();
        assert_eq!(two, "the integer 2 where 0 or 1 (BOOLEAN) is expected");
        assert!(matches!(Kind::Double.cell(ValueRef::Integer(3)), Ok(Cell::Double(Some(x))) if x == 3.0));
        assert!(matches!(Kind::Double.cell(ValueRef::Real(0.25)), Ok(Cell::Double(Some(x))) if x == 0.25));
        assert!(Kind::BigInt.cell(ValueRef::Real(1.5)).unwrap_err().contains("the number 1.5"));
        assert!(matches!(Kind::Bytes.cell(ValueRef::Blob(b"\x00\x01")), Ok(Cell::Bytes(Some(b"\x00\x01")))));
        assert!(Kind::Bytes.cell(ValueRef::Text(b"x")).unwrap_err().starts_with("text where bytes"));
        assert!(matches!(Kind::Text.cell(ValueRef::Text("é".as_bytes())), Ok(Cell::Text(Some("é")))));
        assert!(Kind::Text.cell(ValueRef::Text(b"\xff")).unwrap_err().contains("not UTF-8"));
        assert!(Kind::Text.cell(ValueRef::Text(b"a\0b")).unwrap_err().contains("NUL"));
        assert!(Kind::of(&Type::INT4).is_none(), "a type the schema does not use is not guessed at");
    }
}
