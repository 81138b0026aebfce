//! The change log: what each committed change can alter in a check's answer, under the
//! generation it committed as.
//!
//! A change's rules name what they alter ([`Changed`]) on the transaction; the backend stamps
//! those entries with the generation the change commits as and writes them in the same
//! transaction, so the log holds exactly the committed changes. Hosts read it by generation
//! ([`ChangesSince`]): each drops from its cache only the entries a change can affect, and an
//! edge fetches only the tokens and repositories that changed. A reader whose generation the log
//! no longer reaches (pruned, or from another store) is told to start over from a full read.

use super::sql::{Param, Tx};
use super::{Repository, StoreError, StoreResult, TokenRecord};
use crate::token::SecretHash;

/// How many generations the log keeps. At 20 admin writes a second that is over an hour: a
/// host polls every 50 ms and an edge every few seconds, so only one cut off for longer needs a
/// full read.
pub const KEEP_GENERATIONS: i64 = 100_000;
/// The log is pruned when the generation is a multiple of this, so most changes pay nothing.
const PRUNE_EVERY: i64 = 1024;

/// One thing a change alters, as the log names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Changed {
    /// A token issued. No cache holds it (only tokens found in the store are cached), so hosts
    /// drop nothing; an edge must learn it.
    TokenAdded(String),
    /// A token's claims or state: revoked, shortened by a rotation, deactivated.
    Token(String),
    /// A repository created, moved, transferred away or deleted, by its keys (lower case): its
    /// project, or its absence, is what checks look up.
    Repository { workspace: String, slug: String },
}

impl Changed {
    fn columns(&self) -> (&'static str, String) {
        match self {
            Changed::TokenAdded(id) => ("token_added", id.clone()),
            Changed::Token(id) => ("token", id.clone()),
            Changed::Repository { workspace, slug } => {
                ("repository", format!("{workspace}/{slug}"))
            }
        }
    }
}

/// A write's transaction with the log of what it changes: the backend hands one to a change's
/// rules and writes the entries they name once they have all run.
pub struct Logged<'a> {
    tx: &'a mut dyn Tx,
    changes: Vec<Changed>,
}

impl<'a> Logged<'a> {
    pub fn new(tx: &'a mut dyn Tx) -> Self {
        Logged {
            tx,
            changes: Vec::new(),
        }
    }

    /// Writes the entries under `generation`, the one this transaction commits as, and prunes
    /// the log now and then. `set_floor` sets the oldest generation the log still reaches.
    pub fn write(self, generation: i64, set_floor: &str) -> StoreResult<()> {
        for change in &self.changes {
            let (kind, subject) = change.columns();
            self.tx.execute(
                "INSERT INTO changes (generation, kind, subject) VALUES (?1, ?2, ?3)",
                &[
                    Param::Int(generation),
                    Param::Text(kind),
                    Param::Text(&subject),
                ],
            )?;
        }
        if generation % PRUNE_EVERY == 0 && generation > KEEP_GENERATIONS {
            let floor = generation - KEEP_GENERATIONS;
            self.tx.execute(
                "DELETE FROM changes WHERE generation <= ?1",
                &[Param::Int(floor)],
            )?;
            self.tx.execute(set_floor, &[Param::Int(floor)])?;
        }
        Ok(())
    }
}

impl Tx for Logged<'_> {
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<u64> {
        self.tx.execute(sql, params)
    }
    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> StoreResult<Vec<super::sql::Cells>> {
        self.tx.query(sql, params)
    }
    fn changed(&mut self, change: Changed) -> StoreResult<()> {
        self.changes.push(change);
        Ok(())
    }
}

/// A token a change named, as it stands now.
#[derive(Clone, Debug)]
pub struct ChangedToken {
    pub hash: SecretHash,
    pub record: TokenRecord,
    /// Only issued since: no cache can hold it.
    pub only_added: bool,
}

/// A repository a change named: its keys, and the repository now (`None`: deleted or
/// transferred away).
#[derive(Clone, Debug)]
pub struct ChangedRepository {
    pub workspace: String,
    pub slug: String,
    pub now: Option<Repository>,
}

/// What changed after a generation, read at one instant.
#[derive(Debug)]
pub enum ChangesSince {
    /// Every change committed after the generation asked for, up to `generation`.
    Complete {
        generation: i64,
        tokens: Vec<ChangedToken>,
        repositories: Vec<ChangedRepository>,
    },
    /// None was asked for, or the log does not reach back to it (pruned, or a generation of
    /// another store): everything may have changed as of `generation`.
    Everything { generation: i64 },
}

impl ChangesSince {
    pub fn generation(&self) -> i64 {
        match self {
            ChangesSince::Complete { generation, .. } | ChangesSince::Everything { generation } => {
                *generation
            }
        }
    }
}

/// The kinds and subjects logged after `since`, read in the caller's consistent view.
pub(super) fn logged_after(tx: &mut dyn Tx, since: i64) -> StoreResult<Vec<(String, String)>> {
    tx.query(
        "SELECT kind, subject FROM changes WHERE generation > ?1 ORDER BY generation",
        &[Param::Int(since)],
    )?
    .into_iter()
    .map(|mut r| {
        let bad = |e: String| super::sql::corrupt("changes", "?", e);
        Ok((
            r.text("kind").map_err(bad)?,
            r.text("subject").map_err(bad)?,
        ))
    })
    .collect()
}

/// A repository subject's keys.
pub(super) fn repository_keys(subject: &str) -> StoreResult<(String, String)> {
    subject
        .split_once('/')
        .map(|(w, s)| (w.to_string(), s.to_string()))
        .ok_or_else(|| {
            super::sql::corrupt(
                "changes",
                subject,
                "a repository subject without '/'".into(),
            )
        })
}

/// A kind this version does not know: a newer host wrote it, and what it alters is unknown.
pub(super) fn unknown_kind(kind: &str) -> StoreError {
    super::sql::corrupt("changes", kind, format!("unknown kind {kind:?}"))
}
