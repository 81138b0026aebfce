//! Reading JSON by what each value is, in one pass and without building a tree: a field of the
//! wrong type becomes a value saying so instead of failing the whole parse, which is what keeps
//! `bad_input` and `invalid_claims` apart (§5 rows 1 and 2).

use std::borrow::Cow;

use crate::json::{Keys, Malformed, Next, Reader, Unreadable};

/// A type that can be read from any JSON value, with `other()` for the types it does not take.
pub(crate) trait Shape<'a>: Sized {
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

    fn text(_: Cow<'a, str>) -> Self {
        Self::other()
    }

    /// An array; elements left unread are skipped afterwards.
    fn seq(_: &mut Items<'a, '_>) -> Result<Self, Malformed> {
        Ok(Self::other())
    }

    /// An object; entries left unread are skipped afterwards.
    fn map(_: &mut Entries<'a, '_>) -> Result<Self, Malformed> {
        Ok(Self::other())
    }
}

/// Reads the next value as `T`.
pub(crate) fn read<'a, T: Shape<'a>>(json: &mut Reader<'a>) -> Result<T, Malformed> {
    Ok(match json.next()? {
        Next::Null => T::null(),
        Next::Bool(v) => T::boolean(v),
        Next::Int(v) => T::integer(v),
        Next::Number => T::other(),
        Next::Str(v) => T::text(v),
        Next::Array => {
            let mut items = Items {
                json,
                first: true,
                done: false,
            };
            let value = T::seq(&mut items)?;
            while items.next::<Skipped>()?.is_some() {}
            value
        }
        Next::Object => {
            let mut entries = Entries::new(json);
            let value = T::map(&mut entries)?;
            while entries.next_key()?.is_some() {
                skip(&mut entries)?;
            }
            value
        }
    })
}

/// The elements of an array being read.
pub(crate) struct Items<'a, 'r> {
    json: &'r mut Reader<'a>,
    first: bool,
    done: bool,
}

impl<'a> Items<'a, '_> {
    pub(crate) fn next<T: Shape<'a>>(&mut self) -> Result<Option<T>, Malformed> {
        if self.done || !self.json.more_items(self.first)? {
            self.done = true;
            return Ok(None);
        }
        self.first = false;
        read(self.json).map(Some)
    }
}

/// The entries of an object being read: each key must be followed by `value` or `skip`.
pub(crate) struct Entries<'a, 'r> {
    json: &'r mut Reader<'a>,
    /// The object's keys so far: one named twice makes the whole text unreadable (`whole`), so
    /// whatever a `Fields` reader makes of a repeated key's values is never answered with.
    keys: Keys<'a>,
    done: bool,
}

impl<'a, 'r> Entries<'a, 'r> {
    fn new(json: &'r mut Reader<'a>) -> Self {
        Entries {
            json,
            keys: Keys::new(),
            done: false,
        }
    }

    fn next_key(&mut self) -> Result<Option<Cow<'a, str>>, Malformed> {
        if self.done {
            return Ok(None);
        }
        let key = self.json.next_key(&mut self.keys)?;
        self.done = key.is_none();
        Ok(key)
    }
}

/// Reads the value of the current entry as `T`.
pub(crate) fn value<'a, T: Shape<'a>>(map: &mut Entries<'a, '_>) -> Result<T, Malformed> {
    read(map.json)
}

/// Skips the value of the current entry.
pub(crate) fn skip(map: &mut Entries<'_, '_>) -> Result<(), Malformed> {
    map.json.skip()
}

/// Reads JSON text as `T`; `None` when the text is not one JSON value or an object in it repeats
/// a key: the callers answer both as they answer any input they cannot read.
pub(crate) fn read_json<'a, T: Shape<'a>>(bytes: &'a [u8]) -> Option<T> {
    // One UTF-8 check of the whole text lets the reader slice strings without checking each.
    whole(crate::bytes::text(bytes)?, read).ok()
}

/// Runs `read` over JSON text, which must hold one value and nothing after it, with no object
/// in it repeating a key. A value read from text that fails either is never returned.
fn whole<'a, R>(
    text: &'a str,
    read: impl FnOnce(&mut Reader<'a>) -> Result<R, Malformed>,
) -> Result<R, Unreadable<'a>> {
    let mut json = Reader::new(text);
    let value = read(&mut json)?;
    json.end()?;
    Ok(value)
}

/// Reads JSON text whose top-level value is an object into `fields`, in place, and says what
/// the value was. On an error `fields` holds whatever was read before it, for the caller to
/// drop.
pub(crate) fn read_json_object_into<'a, T: Fields<'a>>(
    text: &'a str,
    fields: &mut T,
) -> Result<Found, Unreadable<'a>> {
    whole(text, |json| {
        let mut found = Found::Absent;
        object_into(json, fields, &mut found)?;
        Ok(found)
    })
}

/// What a value read with `object_into` was.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Found {
    #[default]
    Absent,
    Object,
    Other,
}

/// Reads the value of the current entry into `fields` when it is an object, and says what it
/// was. In place rather than returned: a token's fields are a large struct, and in wasm each
/// move of one is a `memory.copy` call.
pub(crate) fn entry_into<'a, T: Fields<'a>>(
    map: &mut Entries<'a, '_>,
    fields: &mut T,
    found: &mut Found,
) -> Result<(), Malformed> {
    object_into(map.json, fields, found)
}

fn object_into<'a, T: Fields<'a>>(
    json: &mut Reader<'a>,
    fields: &mut T,
    found: &mut Found,
) -> Result<(), Malformed> {
    // Read a second time only for a repeated key, which makes the whole text unreadable: what
    // the fields then hold (both objects merged) is never used.
    *found = Found::Other;
    match json.next()? {
        Next::Object => {
            let mut entries = Entries::new(json);
            fields_into(&mut entries, fields)?;
            *found = Found::Object;
        }
        Next::Array => {
            let mut items = Items {
                json,
                first: true,
                done: false,
            };
            while items.next::<Skipped>()?.is_some() {}
        }
        _ => {}
    }
    Ok(())
}

/// A value read only to get past it.
pub(crate) struct Skipped;

impl Shape<'_> for Skipped {
    fn other() -> Self {
        Skipped
    }
}

/// A string field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Text<'a> {
    Other,
    Null,
    Str(Cow<'a, str>),
}

impl<'a> Shape<'a> for Text<'a> {
    fn other() -> Self {
        Text::Other
    }
    fn null() -> Self {
        Text::Null
    }
    fn text(v: Cow<'a, str>) -> Self {
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

/// The fields of an object, read key by key; keys it does not know are skipped. Each call must
/// consume the entry's value with `value` or `skip`.
pub(crate) trait Fields<'a>: Default {
    fn field(&mut self, key: &str, map: &mut Entries<'a, '_>) -> Result<(), Malformed>;
}

/// Reads the remaining entries of an object into `fields`.
fn fields_into<'a, T: Fields<'a>>(
    map: &mut Entries<'a, '_>,
    fields: &mut T,
) -> Result<(), Malformed> {
    while let Some(key) = map.next_key()? {
        fields.field(&key, map)?;
    }
    Ok(())
}

impl<'a, T: Fields<'a>> Shape<'a> for Object<T> {
    fn other() -> Self {
        Object::Other
    }

    fn map(map: &mut Entries<'a, '_>) -> Result<Self, Malformed> {
        let mut fields = T::default();
        fields_into(map, &mut fields)?;
        Ok(Object::Fields(fields))
    }
}

/// An array of `T`.
pub(crate) enum List<T> {
    Other,
    Items(Vec<T>),
}

impl<'a, T: Shape<'a>> Shape<'a> for List<T> {
    fn other() -> Self {
        List::Other
    }

    fn seq(items: &mut Items<'a, '_>) -> Result<Self, Malformed> {
        let mut list = Vec::new();
        while let Some(item) = items.next()? {
            list.push(item);
        }
        Ok(List::Items(list))
    }
}
