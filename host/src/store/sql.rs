//! The dialect layer: what the store's rules need from a SQL database, and nothing more. The
//! rules (`rules.rs`) are written once against these types; each backend implements them over
//! its own driver and adds only its SQL (migrations, the change counter) and its connections.
//!
//! Statements are written with SQLite's numbered placeholders (`?1`); a backend that numbers
//! them otherwise rewrites them (see [`numbered_as_dollars`]).

use super::{StoreError, StoreResult};

/// One statement parameter. Only the types the schema uses.
#[derive(Clone, Copy, Debug)]
pub enum Param<'a> {
    Text(&'a str),
    NullableText(Option<&'a str>),
    Int(i64),
    NullableInt(Option<i64>),
    Bool(bool),
    Blob(&'a [u8]),
}

/// One value of a result row, as the driver decoded it.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
    Bool(bool),
    /// A value of a type the schema never stores (a float, or a column type the reader does
    /// not know); reading it is always an error.
    Other(&'static str),
}

impl Cell {
    fn kind(&self) -> &'static str {
        match self {
            Cell::Null => "null",
            Cell::Int(_) => "an integer",
            Cell::Text(_) => "text",
            Cell::Blob(_) => "a blob",
            Cell::Bool(_) => "a boolean",
            Cell::Other(what) => what,
        }
    }
}

/// A result row, read column by column in the order of its `SELECT`. Every getter demands the
/// exact type: a value of another type is an error naming the column, never a default.
#[derive(Debug)]
pub struct Cells {
    cells: std::vec::IntoIter<Cell>,
}

impl Cells {
    pub fn new(cells: Vec<Cell>) -> Self {
        Cells {
            cells: cells.into_iter(),
        }
    }

    fn next(&mut self, column: &str) -> Result<Cell, String> {
        self.cells
            .next()
            .ok_or_else(|| format!("the row has no column {column}"))
    }

    fn wrong(column: &str, want: &str, got: &Cell) -> String {
        format!("{column} is {}, not {want}", got.kind())
    }

    pub fn text(&mut self, column: &str) -> Result<String, String> {
        match self.next(column)? {
            Cell::Text(s) => Ok(s),
            other => Err(Self::wrong(column, "text", &other)),
        }
    }

    pub fn nullable_text(&mut self, column: &str) -> Result<Option<String>, String> {
        match self.next(column)? {
            Cell::Text(s) => Ok(Some(s)),
            Cell::Null => Ok(None),
            other => Err(Self::wrong(column, "text or null", &other)),
        }
    }

    pub fn int(&mut self, column: &str) -> Result<i64, String> {
        match self.next(column)? {
            Cell::Int(i) => Ok(i),
            other => Err(Self::wrong(column, "an integer", &other)),
        }
    }

    pub fn nullable_int(&mut self, column: &str) -> Result<Option<i64>, String> {
        match self.next(column)? {
            Cell::Int(i) => Ok(Some(i)),
            Cell::Null => Ok(None),
            other => Err(Self::wrong(column, "an integer or null", &other)),
        }
    }

    /// A boolean column: PostgreSQL has the type, SQLite stores exactly 0 or 1.
    pub fn bool(&mut self, column: &str) -> Result<bool, String> {
        match self.next(column)? {
            Cell::Bool(b) => Ok(b),
            Cell::Int(0) => Ok(false),
            Cell::Int(1) => Ok(true),
            other => Err(Self::wrong(column, "a boolean", &other)),
        }
    }

    pub fn blob(&mut self, column: &str) -> Result<Vec<u8>, String> {
        match self.next(column)? {
            Cell::Blob(b) => Ok(b),
            other => Err(Self::wrong(column, "a blob", &other)),
        }
    }
}

/// One open unit of work: a transaction, or a plain connection for a single read.
pub trait Tx {
    /// Runs a statement; the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<u64>;
    /// Runs a query; every row it answered.
    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<Vec<Cells>>;

    /// At most one row: the first, if any.
    fn query_opt(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<Option<Cells>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// Names what this change alters, for the change log. Only a [`Write::Change`]'s
    /// transaction keeps a log: anywhere else this is a mistake in the rules, and fails the
    /// write rather than leave caches holding what it altered.
    fn changed(&mut self, change: super::changes::Changed) -> StoreResult<()> {
        Err(StoreError::Backend(format!(
            "{change:?} named outside a change's transaction"
        )))
    }
}

/// What a write is, for the backend's locking and change counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// Can change a check's answer: serialised with every other writer, bumps the change
    /// counter (telling other hosts) and writes the change log in the same transaction.
    Change,
    /// Serialised with other writers, but no check can see it (the admin key).
    Quiet,
    /// Commutes with every other write (`last_accessed_at` only ever grows): needs neither the
    /// writers' lock nor the counter.
    Commuting,
}

/// A SQL database the rules run on.
pub trait Backend: Send + Sync + 'static {
    /// The change counter, read inside a unit of work.
    const GENERATION: &'static str;
    /// The oldest generation the change log reaches back to (as `value`).
    const CHANGES_FLOOR: &'static str;
    /// Sets that floor to `?1`.
    const SET_CHANGES_FLOOR: &'static str;
    /// Appended to a subquery that picks rows to claim: rows another transaction holds locked
    /// are passed over rather than waited for. Empty where writers are serialised anyway.
    const SKIP_LOCKED: &'static str;
    /// The tokens' insertion order: a column that only grows.
    const TOKEN_SEQ: &'static str;

    /// Runs `f` in one write transaction and commits it durably, or rolls it back on error.
    fn write<T: Send>(
        &self,
        kind: Write,
        f: impl FnOnce(&mut dyn Tx) -> StoreResult<T> + Send,
    ) -> StoreResult<T>;

    /// Runs `f`'s single statement on a connection outside any explicit transaction.
    fn read<T: Send>(&self, f: impl FnOnce(&mut dyn Tx) -> StoreResult<T> + Send)
        -> StoreResult<T>;

    /// Runs `f`'s statements on one consistent view of the database.
    fn snapshot<T: Send>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> StoreResult<T> + Send,
    ) -> StoreResult<T>;

    /// The change counter, as cheaply as the backend can know it (see `Store::change_marker`).
    fn change_marker(&self) -> StoreResult<i64>;
}

/// The store's error for a row that can't be read exactly.
pub fn corrupt(table: &'static str, key: &str, detail: String) -> StoreError {
    crate::metrics::store_error(StoreError::Corrupt {
        table,
        key: key.to_string(),
        detail,
    })
}

/// `?1`-style placeholders as `$1`, for PostgreSQL. The statements hold no string literal with
/// a `?` in it, so every `?` is a placeholder.
pub fn numbered_as_dollars(sql: &str) -> String {
    sql.replace('?', "$")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getters_refuse_every_other_type() {
        let mut row = Cells::new(vec![
            Cell::Int(3),
            Cell::Text("x".into()),
            Cell::Int(2),
            Cell::Null,
            Cell::Other("a float"),
        ]);
        assert_eq!(row.text("a").unwrap_err(), "a is an integer, not text");
        assert_eq!(
            row.nullable_int("b").unwrap_err(),
            "b is text, not an integer or null"
        );
        assert_eq!(row.bool("c").unwrap_err(), "c is an integer, not a boolean");
        assert_eq!(row.int("d").unwrap_err(), "d is null, not an integer");
        assert_eq!(
            row.nullable_text("e").unwrap_err(),
            "e is a float, not text or null"
        );
        assert_eq!(row.text("f").unwrap_err(), "the row has no column f");
    }

    #[test]
    fn placeholders_are_renumbered_for_postgres() {
        assert_eq!(
            numbered_as_dollars("UPDATE t SET a = ?2 WHERE id = ?1"),
            "UPDATE t SET a = $2 WHERE id = $1"
        );
    }
}
