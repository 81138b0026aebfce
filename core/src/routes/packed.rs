//! The route table as the module carries it. `table.rs` is the one transcription; this packs it
//! at compile time, front-coded: each template keeps only what differs from the one before it.
//! The 331 templates repeat long prefixes (`/repositories/{workspace}/{repo_slug}/` alone 200
//! times), and the table as written weighs about 24 KB in the module against 6 KB packed. It
//! is unpacked once, when the routes are first needed.

use super::table::API_OPERATIONS;
use super::Method;
use crate::scope::{Scope, ScopeSet};

/// One operation: what it shares with the previous template, and how long the rest is.
#[derive(Clone, Copy)]
pub(super) struct Packed {
    pub method: Method,
    pub required: ScopeSet,
    /// Leading bytes shared with the previous template.
    pub shared: u8,
    /// Bytes of `SUFFIXES` that follow them.
    pub suffix: u8,
}

const COUNT: usize = API_OPERATIONS.len();

const fn shared_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut i = 0;
    while i < a.len() && i < b.len() && a[i] == b[i] && i < u8::MAX as usize {
        i += 1;
    }
    i
}

const fn required(scopes: &[Scope]) -> ScopeSet {
    let mut set = ScopeSet::EMPTY;
    let mut i = 0;
    while i < scopes.len() {
        set = set.with(scopes[i]);
        i += 1;
    }
    set
}

/// The operations in table order, and the total length of their suffixes.
const fn pack() -> ([Packed; COUNT], usize) {
    let mut out = [Packed {
        method: Method::Get,
        required: ScopeSet::EMPTY,
        shared: 0,
        suffix: 0,
    }; COUNT];
    let mut text = 0;
    let mut previous: &[u8] = b"";
    let mut i = 0;
    while i < COUNT {
        let (method, template, scopes) = API_OPERATIONS[i];
        let template = template.as_bytes();
        let shared = shared_prefix(previous, template);
        let suffix = template.len() - shared;
        assert!(
            suffix <= u8::MAX as usize,
            "a template's suffix is too long to pack"
        );
        out[i] = Packed {
            method,
            required: required(scopes),
            shared: shared as u8,
            suffix: suffix as u8,
        };
        text += suffix;
        previous = template;
        i += 1;
    }
    (out, text)
}

const PACKED: ([Packed; COUNT], usize) = pack();

/// The operations, in route-table order.
static OPERATIONS: [Packed; COUNT] = PACKED.0;

const SUFFIX_BYTES: [u8; PACKED.1] = {
    let mut out = [0; PACKED.1];
    let mut at = 0;
    let mut i = 0;
    while i < COUNT {
        let template = API_OPERATIONS[i].1.as_bytes();
        let mut j = PACKED.0[i].shared as usize;
        while j < template.len() {
            out[at] = template[j];
            at += 1;
            j += 1;
        }
        i += 1;
    }
    out
};

/// Every template's suffix, one after the other. Checked as text when the crate is compiled.
#[allow(
    clippy::panic,
    reason = "evaluated at compile time: a table that is not text fails to build"
)]
static SUFFIXES: &str = match core::str::from_utf8(&SUFFIX_BYTES) {
    Ok(text) => text,
    Err(_) => panic!("the route table is not UTF-8"),
};

/// The templates unpacked, each with its operation, in route-table order. A suffix missing
/// from `SUFFIXES` (which the compile-time packing rules out) leaves a template no request
/// matches: the request is then refused as an unknown operation, never let through.
pub(super) fn unpack() -> impl Iterator<Item = (Packed, String)> {
    let mut template = String::new();
    let mut at = 0;
    OPERATIONS.iter().map(move |op| {
        template.truncate(usize::from(op.shared));
        let end = at + usize::from(op.suffix);
        template.push_str(SUFFIXES.get(at..end).unwrap_or_default());
        at = end;
        (*op, template.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacking_gives_back_the_table() {
        let unpacked: Vec<(Packed, String)> = unpack().collect();
        assert_eq!(unpacked.len(), API_OPERATIONS.len());
        for ((op, template), (method, written, scopes)) in unpacked.iter().zip(API_OPERATIONS) {
            assert_eq!(template, written);
            assert_eq!(op.method, *method);
            assert_eq!(op.required, scopes.iter().copied().collect::<ScopeSet>());
        }
    }
}
