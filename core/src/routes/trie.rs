//! A segment trie over the route templates. Searching it depth-first, literal children before
//! patterns before parameters before a greedy `{path}`, finds exactly the template §4.3 prefers:
//! the first request segment where two candidates differ decides, and a template that ends where
//! the request ends beats a `{path}` matching nothing.

use std::borrow::Cow;

use super::{ApiOperation, Method};
use crate::bytes;

/// Operation index per method at a template's end.
type ByMethod = [Option<usize>; Method::COUNT];

/// Literal segments are at most this long; `Trie::build` holds the table to it.
const MAX_LITERAL: usize = 30;

#[derive(Default)]
struct Node {
    /// Sorted by length: `literals[by_length[n]..by_length[n + 1]]` are those `n` bytes long.
    literals: Vec<(&'static str, usize)>,
    by_length: [u8; MAX_LITERAL + 2],
    patterns: Vec<(Pattern, usize)>,
    param: Option<usize>,
    /// Templates ending here.
    end: ByMethod,
    /// Templates whose final `{path}` starts here and takes all remaining segments.
    rest: ByMethod,
}

pub(super) struct Trie {
    nodes: Vec<Node>,
}

/// A template segment mixing literal text and parameters, such as
/// `{repo_name}-issues-{task_id}.zip`; each parameter takes at least one character.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pattern {
    source: &'static str,
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(&'static str),
    Param,
}

impl Pattern {
    fn parse(source: &'static str) -> Pattern {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some((literal, param)) = rest.split_once('{') {
            if !literal.is_empty() {
                parts.push(Part::Literal(literal));
            }
            parts.push(Part::Param);
            rest = param.split_once('}').map_or("", |(_, after)| after);
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest));
        }
        Pattern { source, parts }
    }

    fn matches(&self, segment: &str) -> bool {
        matches_parts(&self.parts, segment)
    }
}

fn matches_parts(parts: &[Part], text: &str) -> bool {
    match parts.split_first() {
        None => text.is_empty(),
        Some((Part::Literal(lit), rest)) => text
            .strip_prefix(lit)
            .is_some_and(|tail| matches_parts(rest, tail)),
        Some((Part::Param, rest)) => text
            .char_indices()
            .skip(1)
            .map(|(i, _)| i)
            .chain(std::iter::once(text.len()))
            .filter(|&i| i > 0)
            .any(|i| text.get(i..).is_some_and(|tail| matches_parts(rest, tail))),
    }
}

enum SegmentKind {
    Literal(&'static str),
    Pattern(Pattern),
    Param,
    Rest,
}

fn segment_kind(segment: &'static str, last: bool) -> SegmentKind {
    if segment.starts_with('{') && segment.ends_with('}') && segment.matches('{').count() == 1 {
        if last && segment == "{path}" {
            SegmentKind::Rest
        } else {
            SegmentKind::Param
        }
    } else if segment.contains('{') {
        SegmentKind::Pattern(Pattern::parse(segment))
    } else {
        SegmentKind::Literal(segment)
    }
}

impl Trie {
    pub(super) fn build(operations: &[ApiOperation]) -> Trie {
        let mut trie = Trie {
            nodes: vec![Node::default()],
        };
        for (index, op) in operations.iter().enumerate() {
            trie.insert(index, op);
        }
        for node in &mut trie.nodes {
            assert!(
                node.literals.len() <= usize::from(u8::MAX),
                "too many literals"
            );
            for (n, start) in node.by_length.iter_mut().enumerate() {
                *start = node.literals.partition_point(|(lit, _)| lit.len() < n) as u8;
            }
        }
        trie
    }

    fn insert(&mut self, index: usize, op: &ApiOperation) {
        let segments: Vec<&'static str> = op.template.split('/').skip(1).collect();
        let mut node = 0;
        for (i, segment) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            node = match segment_kind(segment, last) {
                SegmentKind::Rest => {
                    self.nodes[node].rest[op.method as usize] = Some(index);
                    return;
                }
                SegmentKind::Literal(lit) => {
                    assert!(lit.len() <= MAX_LITERAL, "a literal segment is too long");
                    match self.nodes[node].literals.iter().find(|(l, _)| *l == lit) {
                        Some((_, child)) => *child,
                        None => {
                            let child = self.push();
                            let literals = &mut self.nodes[node].literals;
                            let at = literals.partition_point(|(l, _)| l.len() <= lit.len());
                            literals.insert(at, (lit, child));
                            child
                        }
                    }
                }
                SegmentKind::Pattern(pattern) => {
                    let existing = self.nodes[node]
                        .patterns
                        .iter()
                        .find(|(p, _)| p.source == pattern.source)
                        .map(|(_, child)| *child);
                    match existing {
                        Some(child) => child,
                        None => {
                            let child = self.push();
                            self.nodes[node].patterns.push((pattern, child));
                            child
                        }
                    }
                }
                SegmentKind::Param => match self.nodes[node].param {
                    Some(child) => child,
                    None => {
                        let child = self.push();
                        self.nodes[node].param = Some(child);
                        child
                    }
                },
            };
        }
        self.nodes[node].end[op.method as usize] = Some(index);
    }

    fn push(&mut self) -> usize {
        self.nodes.push(Node::default());
        self.nodes.len() - 1
    }

    /// The preferred operation for `method` on these decoded segments, if any.
    pub(super) fn find(&self, method: Method, segments: &[Cow<'_, str>]) -> Option<usize> {
        self.find_from(0, method as usize, segments, None)
    }

    /// The first of: what the literal child, then each matching pattern child, then the
    /// parameter child finds for the remaining segments; else a `{path}` ending here; else
    /// `fallback`, the answer of the nodes above. The last candidate is searched by the loop
    /// itself rather than by a call: a request descends through one candidate per segment
    /// nearly always, and in wasm each call, with the host's deadline check, cost more than
    /// the search it made.
    fn find_from(
        &self,
        mut node: usize,
        m: usize,
        mut segments: &[Cow<'_, str>],
        mut fallback: Option<usize>,
    ) -> Option<usize> {
        loop {
            let here = &self.nodes[node];
            fallback = here.rest[m].or(fallback);
            let Some((first, rest)) = segments.split_first() else {
                return here.end[m].or(fallback);
            };
            let first = first.as_ref();
            // Only literals of the segment's length can be it; names in a node are unique.
            let n = first.len().min(MAX_LITERAL + 1);
            let literal = match here.by_length.get(n..n + 2) {
                Some(&[from, to]) => here.literals[usize::from(from)..usize::from(to)]
                    .iter()
                    .find(|(lit, _)| bytes::same(lit.as_bytes(), first.as_bytes()))
                    .map(|(_, child)| *child),
                _ => None,
            };
            let next = if here.patterns.is_empty() {
                // Nearly every node: at most two candidates, the literal and the parameter.
                match (literal, here.param) {
                    (Some(literal), Some(param)) => {
                        if let Some(found) = self.find_from(literal, m, rest, None) {
                            return Some(found);
                        }
                        Some(param)
                    }
                    (one, other) => one.or(other),
                }
            } else {
                match self.all_but_last(here, literal, first, m, rest) {
                    Ok(next) => next,
                    Err(found) => return Some(found),
                }
            };
            let Some(child) = next else {
                return fallback;
            };
            node = child;
            segments = rest;
        }
    }

    /// Searches the candidate children of `here` for the segment `first` in order (the literal,
    /// each matching pattern, the parameter) but the last; `Err` with the answer when one finds
    /// it, else `Ok` with the last candidate, for the caller to descend into.
    #[inline(never)]
    fn all_but_last(
        &self,
        here: &Node,
        literal: Option<usize>,
        first: &str,
        m: usize,
        rest: &[Cow<'_, str>],
    ) -> Result<Option<usize>, usize> {
        let patterns = here
            .patterns
            .iter()
            .filter(|(pattern, _)| pattern.matches(first))
            .map(|(_, child)| *child);
        let mut next = None;
        for child in literal.into_iter().chain(patterns).chain(here.param) {
            if let Some(earlier) = next {
                if let Some(found) = self.find_from(earlier, m, rest, None) {
                    return Err(found);
                }
            }
            next = Some(child);
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_need_every_part() {
        let p = Pattern::parse("{repo_name}-issues-{task_id}.zip");
        assert!(p.matches("api-issues-7.zip"));
        assert!(p.matches("a-issues-b-issues-c.zip"));
        assert!(!p.matches("-issues-7.zip"));
        assert!(!p.matches("api-issues-.zip"));
        assert!(!p.matches("api-issues-7.tar"));
        assert!(p.matches("é-issues-ü.zip"));
    }
}
