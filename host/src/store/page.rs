//! Keyset pagination for every list of the store. A page starts strictly after the last row of
//! the page before, named by that row's sort key, never by an offset: rows inserted meanwhile
//! take their own place in the order, so no row is skipped or answered twice as a client pages
//! through a list that grows under it.

use super::sql::Param;

/// The default and the largest page, for every list.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// Where a page starts: after the row with this sort key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum After {
    Start,
    /// A list in name order: the lowered name of the last row.
    Key(String),
    /// A list in creation order: the last row's `created_at` and id.
    Created(i64, String),
    /// A list in insertion order: the last row's place in it.
    Inserted(i64),
}

impl After {
    /// The cursor as the API hands it out (see [`Order::parse`] for the way back).
    pub fn cursor(&self) -> Option<String> {
        match self {
            After::Start => None,
            After::Key(k) => Some(k.clone()),
            After::Created(at, id) => Some(format!("{at}.{id}")),
            After::Inserted(n) => Some(format!("i{n}")),
        }
    }
}

/// One page's request: at most `limit` rows after `after`.
#[derive(Clone, Debug)]
pub struct PageRequest {
    pub limit: usize,
    pub after: After,
}

impl PageRequest {
    pub fn first(limit: usize) -> Self {
        PageRequest {
            limit,
            after: After::Start,
        }
    }
}

/// A page of rows and where the next one starts (`None` on the last page).
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<After>,
}

impl<T> Page<T> {
    /// The page of `rows` read with [`Order::continue_sql`] (one more than `limit` when another
    /// page follows), `key` giving each row's sort key.
    pub fn of(mut rows: Vec<T>, limit: usize, key: impl Fn(&T) -> After) -> Page<T> {
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = more.then(|| rows.last().map(&key)).flatten();
        Page { items: rows, next }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

/// The sort order of a list, total in every case, and the SQL that continues it.
#[derive(Clone, Copy, Debug)]
pub enum Order {
    /// By a unique lowered-name column.
    Key(&'static str),
    /// `created_at`, then `id`.
    OldestFirst,
    /// Newest first by this column, which only grows as rows are inserted: rows inserted
    /// after a page was read come before it, never after (`created_at` is in seconds, so rows
    /// of one second can't be told apart by it).
    NewestInserted(&'static str),
}

/// The admin API's token lists, newest first; the store names its backend's insertion column.
pub const NEWEST_TOKENS: Order = Order::NewestInserted("");

/// A cursor the list it was given to did not hand out.
#[derive(Debug, thiserror::Error)]
#[error("cursor {0:?} is not a cursor of this list")]
pub struct BadCursor(pub String);

impl Order {
    /// The cursor of a page request back into a sort key.
    pub fn parse(self, cursor: &str) -> Result<After, BadCursor> {
        let bad = || BadCursor(cursor.to_string());
        match self {
            Order::Key(_) => (!cursor.is_empty()
                && cursor.len() <= 128
                && cursor
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)))
            .then(|| After::Key(cursor.to_ascii_lowercase()))
            .ok_or_else(bad),
            Order::NewestInserted(_) => cursor
                .strip_prefix('i')
                .and_then(|n| n.parse::<i64>().ok())
                .filter(|n| *n > 0)
                .map(After::Inserted)
                .ok_or_else(bad),
            Order::OldestFirst => {
                let (at, id) = cursor.split_once('.').ok_or_else(bad)?;
                let at = at.parse::<i64>().map_err(|_| bad())?;
                let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
                (!id.is_empty() && id.len() <= 64 && id.bytes().all(plain))
                    .then(|| After::Created(at, id.to_string()))
                    .ok_or_else(bad)
            }
        }
    }

    fn order_by(self) -> String {
        match self {
            Order::Key(column) => column.to_string(),
            Order::OldestFirst => "created_at, id".into(),
            Order::NewestInserted(column) => format!("{column} DESC"),
        }
    }

    /// Appends to `sql` (a query ending in a `WHERE` clause) the condition for rows after
    /// `after`, the order and the limit, numbering placeholders on from `params`.
    pub fn continue_sql<'a>(
        self,
        sql: &mut String,
        params: &mut Vec<Param<'a>>,
        page: &'a PageRequest,
    ) {
        let n = params.len();
        match (&page.after, self) {
            (After::Start, _) => {}
            (After::Key(k), Order::Key(column)) => {
                sql.push_str(&format!(" AND {column} > ?{}", n + 1));
                params.push(Param::Text(k));
            }
            (After::Inserted(seq), Order::NewestInserted(column)) => {
                sql.push_str(&format!(" AND {column} < ?{}", n + 1));
                params.push(Param::Int(*seq));
            }
            (After::Created(at, id), Order::OldestFirst) => {
                sql.push_str(&format!(
                    " AND (created_at > ?{a} OR (created_at = ?{a} AND id > ?{b}))",
                    a = n + 1,
                    b = n + 2
                ));
                params.extend([Param::Int(*at), Param::Text(id)]);
            }
            // A cursor of another order can't be parsed for this one (see `parse`); were one
            // to arrive, answering no rows is the safe reading.
            _ => sql.push_str(" AND FALSE"),
        }
        // One row more than asked tells whether another page follows.
        sql.push_str(&format!(
            " ORDER BY {} LIMIT {}",
            self.order_by(),
            page.limit.saturating_add(1)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_as_the_key_they_were_made_of() {
        let created = After::Created(1_700_000_000, "tok_abc".into());
        let text = created.cursor().unwrap_or_default();
        assert_eq!(Order::OldestFirst.parse(&text).ok(), Some(created));
        let inserted = After::Inserted(42);
        let text = inserted.cursor().unwrap_or_default();
        assert_eq!(
            Order::NewestInserted("seq").parse(&text).ok(),
            Some(inserted)
        );
        assert!(Order::NewestInserted("seq").parse("i0").is_err());
        assert!(Order::NewestInserted("seq").parse("1.tok").is_err());
        assert_eq!(
            Order::Key("slug_key").parse("Acme").ok(),
            Some(After::Key("acme".into()))
        );
        for bad in ["", "x", "1.", ".tok", "1.a b", "a.tok"] {
            assert!(Order::OldestFirst.parse(bad).is_err(), "{bad:?}");
        }
        assert!(Order::Key("k").parse("").is_err());
    }

    #[test]
    fn one_extra_row_means_another_page() {
        let key = |n: &i64| After::Key(n.to_string());
        let full = Page::of(vec![1, 2, 3], 2, key);
        assert_eq!(full.items, vec![1, 2]);
        assert_eq!(full.next, Some(After::Key("2".into())));
        let last = Page::of(vec![1, 2], 2, key);
        assert_eq!(last.next, None);
    }
}
