//! Bitbucket OAuth scopes, the sets tokens hold, and the implication closure of §2.

use std::fmt;

use crate::claims::TokenKind;

/// Declares the scopes once: the enum, `ALL` in declaration order, and both directions of the
/// name mapping.
macro_rules! scopes {
    ($($variant:ident => $name:literal,)*) => {
        /// Every Bitbucket Cloud OAuth scope. Variants are declared in the byte order of their
        /// names so that iterating a [`ScopeSet`] yields the sorted lists the wire format promises.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum Scope {
            $($variant,)*
        }

        impl Scope {
            pub const ALL: [Scope; [$($name),*].len()] = [$(Scope::$variant),*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Scope::$variant => $name,)*
                }
            }

            /// A `match` on the name, not a search of `ALL`: the compiler dispatches on the
            /// length first and compares at most a few candidates, where a search compared
            /// lengths 25 times per scope of every decision's token.
            pub fn parse(name: &str) -> Option<Scope> {
                match name {
                    $($name => Some(Scope::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

scopes! {
    Account => "account",
    AccountWrite => "account:write",
    Email => "email",
    Issue => "issue",
    IssueWrite => "issue:write",
    Pipeline => "pipeline",
    PipelineVariable => "pipeline:variable",
    PipelineWrite => "pipeline:write",
    Project => "project",
    ProjectAdmin => "project:admin",
    ProjectWrite => "project:write",
    Pullrequest => "pullrequest",
    PullrequestWrite => "pullrequest:write",
    Repository => "repository",
    RepositoryAdmin => "repository:admin",
    RepositoryDelete => "repository:delete",
    RepositoryWrite => "repository:write",
    Runner => "runner",
    RunnerWrite => "runner:write",
    Snippet => "snippet",
    SnippetWrite => "snippet:write",
    Team => "team",
    TeamWrite => "team:write",
    Webhook => "webhook",
    Wiki => "wiki",
}

impl Scope {
    /// The scopes this one directly implies (§2). Everything not listed implies nothing.
    const fn implies(self) -> ScopeSet {
        match self {
            Scope::RepositoryWrite | Scope::Pullrequest | Scope::Project => {
                ScopeSet::single(Scope::Repository)
            }
            Scope::PullrequestWrite => {
                ScopeSet::single(Scope::Pullrequest).with(Scope::RepositoryWrite)
            }
            _ => ScopeSet::EMPTY,
        }
    }

    /// Whether an access token of `kind` may hold this scope (§2).
    pub const fn grantable_to(self, kind: TokenKind) -> bool {
        match self {
            Scope::Repository
            | Scope::RepositoryWrite
            | Scope::RepositoryAdmin
            | Scope::RepositoryDelete
            | Scope::Pullrequest
            | Scope::PullrequestWrite
            | Scope::Webhook
            | Scope::Pipeline
            | Scope::PipelineWrite
            | Scope::PipelineVariable
            | Scope::Runner
            | Scope::RunnerWrite => true,
            Scope::Project => matches!(kind, TokenKind::Project | TokenKind::Workspace),
            Scope::ProjectAdmin | Scope::Account => matches!(kind, TokenKind::Workspace),
            _ => false,
        }
    }

    /// Whether some kind of access token may hold this scope.
    pub const fn grantable_to_any(self) -> bool {
        self.grantable_to(TokenKind::Workspace)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes as a bit set: cheap to copy, compare and close.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(u32);

impl ScopeSet {
    pub const EMPTY: ScopeSet = ScopeSet(0);

    pub const fn single(scope: Scope) -> ScopeSet {
        ScopeSet(1 << scope as u8)
    }

    pub const fn with(self, scope: Scope) -> ScopeSet {
        ScopeSet(self.0 | 1 << scope as u8)
    }

    pub fn insert(&mut self, scope: Scope) {
        *self = self.with(scope);
    }

    pub const fn contains(self, scope: Scope) -> bool {
        self.0 & (1 << scope as u8) != 0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    pub const fn union(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 | other.0)
    }

    pub const fn minus(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 & !other.0)
    }

    pub const fn is_subset(self, other: ScopeSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// The effective scopes: this set and everything it implies, transitively.
    pub fn closure(self) -> ScopeSet {
        let mut closed = self;
        loop {
            let next = closed
                .iter()
                .fold(closed, |acc, scope| acc.union(scope.implies()));
            if next == closed {
                return closed;
            }
            closed = next;
        }
    }

    /// The smallest subset with the same closure: drops every scope another member implies.
    pub fn reduce(self) -> ScopeSet {
        self.iter()
            .filter(|&scope| {
                !self.iter().any(|other| {
                    other != scope && ScopeSet::single(other).closure().contains(scope)
                })
            })
            .collect()
    }

    /// Members in sorted (wire) order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        // Bit `i` is `Scope::ALL[i]`: walking the set bits yields the members in order without
        // testing the scopes that are absent.
        let mut bits = self.0;
        std::iter::from_fn(move || {
            let at = bits.trailing_zeros() as usize;
            bits &= bits.wrapping_sub(1);
            Scope::ALL.get(at).copied()
        })
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        iter.into_iter().fold(ScopeSet::EMPTY, ScopeSet::with)
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl serde::Serialize for ScopeSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(Scope::as_str))
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declaration_order_is_name_order() {
        let names: Vec<_> = Scope::ALL.iter().map(|s| s.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        for (i, s) in Scope::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
            assert_eq!(Scope::parse(s.as_str()), Some(*s));
        }
    }

    #[test]
    fn closure_follows_the_contract() {
        let closed = ScopeSet::single(Scope::PullrequestWrite).closure();
        let expected: ScopeSet = [
            Scope::PullrequestWrite,
            Scope::Pullrequest,
            Scope::RepositoryWrite,
            Scope::Repository,
        ]
        .into_iter()
        .collect();
        assert_eq!(closed, expected);
        for lone in [
            Scope::RepositoryAdmin,
            Scope::ProjectAdmin,
            Scope::PipelineWrite,
        ] {
            assert_eq!(ScopeSet::single(lone).closure(), ScopeSet::single(lone));
        }
    }

    #[test]
    fn reduce_keeps_the_closure() {
        let set: ScopeSet = [Scope::Pullrequest, Scope::Repository, Scope::Webhook]
            .into_iter()
            .collect();
        let reduced = set.reduce();
        assert_eq!(
            reduced,
            [Scope::Pullrequest, Scope::Webhook].into_iter().collect()
        );
        assert_eq!(reduced.closure(), set.closure());
    }
}
