//! Tables only. serde's derived structs also read a sequence, field by field in declaration
//! order, so `policy = [8]` would set `code_length` and `latch = ["1s", "2s"]` the pulse, with no
//! key named anywhere. Every table of the file is read through here instead, and an array (or
//! any other value) where a table belongs is refused at its key: "expected a table".

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// A `T` that was written as a table.
pub(super) struct Table<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Table<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_map(TableVisitor(PhantomData))
            .map(Table)
    }
}

struct TableVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for TableVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

/// `#[serde(deserialize_with)]` for a table.
pub(super) fn one<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Table::deserialize(d).map(|Table(value)| value)
}

/// For an optional table.
pub(super) fn optional<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<Table<T>>::deserialize(d).map(|table| table.map(|Table(value)| value))
}

/// For an array of tables (`[[bus]]`).
pub(super) fn many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Vec::<Table<T>>::deserialize(d).map(|tables| tables.into_iter().map(|Table(v)| v).collect())
}
