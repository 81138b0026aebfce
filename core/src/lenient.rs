//! Reading JSON by what each value is, in one pass and without building a tree: a field of the
//! wrong type becomes a value saying so instead of failing the whole parse, which is what keeps
//! `bad_input` and `invalid_claims` apart (§5 rows 1 and 2). Works over any serde deserializer:
//! JSON text, a `serde_json::Value`, a JS value.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A type that can be read from any JSON value, with `other()` for the types it does not take.
pub(crate) trait Shape<'de>: Sized {
    fn other() -> Self;

    fn null() -> Self {
        Self::other()
    }

    fn boolean(_: bool) -> Self {
        Self::other()
    }

    fn integer(_: i64) -> Self {
        Self::other()
    }

    fn text(_: Cow<'de, str>) -> Self {
        Self::other()
    }

    fn seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Self::other())
    }

    fn map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Self::other())
    }
}

/// Deserializes any `Shape`.
pub(crate) struct Lenient<T>(pub T);

impl<'de, T: Shape<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(ShapeVisitor(PhantomData))
            .map(Lenient)
    }
}

struct ShapeVisitor<T>(PhantomData<T>);

impl<'de, T: Shape<'de>> Visitor<'de> for ShapeVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<T, E> {
        Ok(T::null())
    }

    fn visit_none<E>(self) -> Result<T, E> {
        Ok(T::null())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_bool<E>(self, v: bool) -> Result<T, E> {
        Ok(T::boolean(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<T, E> {
        Ok(T::integer(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<T, E> {
        Ok(i64::try_from(v).map_or_else(|_| T::other(), T::integer))
    }

    fn visit_i128<E>(self, _: i128) -> Result<T, E> {
        Ok(T::other())
    }

    fn visit_u128<E>(self, _: u128) -> Result<T, E> {
        Ok(T::other())
    }

    fn visit_f64<E>(self, _: f64) -> Result<T, E> {
        Ok(T::other())
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<T, E> {
        Ok(T::text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<T, E> {
        Ok(T::text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<T, E> {
        Ok(T::text(Cow::Owned(v)))
    }

    fn visit_bytes<E>(self, _: &[u8]) -> Result<T, E> {
        Ok(T::other())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        T::seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::map(map)
    }
}

/// A string field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Text<'a> {
    Other,
    Null,
    Str(Cow<'a, str>),
}

impl<'de> Shape<'de> for Text<'de> {
    fn other() -> Self {
        Text::Other
    }
    fn null() -> Self {
        Text::Null
    }
    fn text(v: Cow<'de, str>) -> Self {
        Text::Str(v)
    }
}

/// An integer field that fits in an `i64`; floats, even integral ones, are `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Int {
    Other,
    Null,
    Value(i64),
}

impl Shape<'_> for Int {
    fn other() -> Self {
        Int::Other
    }
    fn null() -> Self {
        Int::Null
    }
    fn integer(v: i64) -> Self {
        Int::Value(v)
    }
}

/// A boolean field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flag {
    Other,
    Null,
    Bool(bool),
}

impl Shape<'_> for Flag {
    fn other() -> Self {
        Flag::Other
    }
    fn null() -> Self {
        Flag::Null
    }
    fn boolean(v: bool) -> Self {
        Flag::Bool(v)
    }
}

/// An object whose fields `T` reads, or a value of another type.
pub(crate) enum Object<T> {
    Other,
    Fields(T),
}

/// The fields of an object, read key by key; keys it does not know are skipped.
pub(crate) trait Fields<'de>: Default {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

impl<'de, T: Fields<'de>> Shape<'de> for Object<T> {
    fn other() -> Self {
        Object::Other
    }

    fn map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut fields = T::default();
        while let Some(Lenient(key)) = map.next_key::<Lenient<Text<'de>>>()? {
            match key {
                Text::Str(key) => fields.field(&key, &mut map)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Object::Fields(fields))
    }
}

/// Reads the value of the current entry as `T`.
pub(crate) fn value<'de, T: Shape<'de>, A: MapAccess<'de>>(map: &mut A) -> Result<T, A::Error> {
    map.next_value::<Lenient<T>>().map(|Lenient(v)| v)
}

/// Skips the value of the current entry.
pub(crate) fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(|_| ())
}

/// Reads JSON text as `T`; `None` when the text is not one JSON value.
pub(crate) fn read_json<'de, T: Shape<'de>>(bytes: &'de [u8]) -> Option<T> {
    // One UTF-8 check of the whole text is cheaper than serde_json's check of every string.
    let text = std::str::from_utf8(bytes).ok()?;
    let mut de = serde_json::Deserializer::from_str(text);
    let Lenient(value) = Lenient::<T>::deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(value)
}

/// Reads a JSON value as `T`.
pub(crate) fn read_value<'de, T: Shape<'de>>(value: &'de serde_json::Value) -> T {
    Lenient::<T>::deserialize(value).map_or_else(|_| T::other(), |Lenient(v)| v)
}

/// An array of `T`.
pub(crate) enum List<T> {
    Other,
    Items(Vec<T>),
}

impl<'de, T: Shape<'de>> Shape<'de> for List<T> {
    fn other() -> Self {
        List::Other
    }

    fn seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(Lenient(item)) = seq.next_element::<Lenient<T>>()? {
            items.push(item);
        }
        Ok(List::Items(items))
    }
}
