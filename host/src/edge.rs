//! The snapshot an edge runtime answers checks from: for every stored token the SHA-256 of its
//! secret with its id and the claims the host itself hands the module, and the repository →
//! project map the module's lookups ask for. Hashes only: a snapshot that leaks grants nobody a
//! usable token.
//!
//! An edge that holds a snapshot asks for what changed since its version (`?since=`): the
//! tokens the change log names, as they stand now, and the repositories it names (`null` once
//! gone). When the log does not reach back that far the answer is a full snapshot, which has no
//! `since`.

use crate::clock;
use crate::error::ApiError;
use crate::service::{claims_json, push_json_str, Service};
use crate::store::changes::ChangesSince;
use crate::store::{CheckStateSink, Repository, TokenRecord};
use crate::token::SecretHash;
use base64::Engine as _;

/// Bumped when a field changes meaning, so an edge can refuse a snapshot it does not understand.
/// 3: a token is `[hash, id, claims]`, the hash in unpadded base64url (a full snapshot costs
/// under 200 bytes a token); deltas with `since`.
pub const FORMAT: u32 = 3;

/// Key of the repository map: the names compare ASCII-case-insensitively, so both are lowered.
pub fn repository_key(workspace: &str, repository: &str) -> String {
    format!(
        "{}/{}",
        workspace.to_ascii_lowercase(),
        repository.to_ascii_lowercase()
    )
}

/// The snapshot as JSON text: everything, or (`since`) what changed after that version.
pub fn snapshot(service: &Service, since: Option<i64>) -> Result<String, ApiError> {
    let now = clock::now();
    let mut out = String::with_capacity(256);
    match since
        .map(|s| service.store.changes_since(Some(s)))
        .transpose()?
    {
        Some(ChangesSince::Complete {
            generation,
            tokens,
            repositories,
        }) => {
            open(&mut out, generation, since, now);
            for (i, t) in tokens.iter().enumerate() {
                token(&mut out, i, &t.hash, &t.record);
            }
            out.push_str(r#"],"repositories":{"#);
            for (i, r) in repositories.iter().enumerate() {
                repository(
                    &mut out,
                    i,
                    &r.workspace,
                    &r.slug,
                    r.now.as_ref().map(|r| &*r.project),
                );
            }
        }
        Some(ChangesSince::Everything { .. }) | None => {
            let mut full = Full {
                out: &mut out,
                now,
                tokens: 0,
                repositories: None,
            };
            service.store.check_state(&mut full)?;
            if full.repositories.is_none() {
                out.push_str(r#"],"repositories":{"#);
            }
        }
    }
    out.push_str("}}");
    Ok(out)
}

/// Whether an `Accept-Encoding` value asks for gzip (RFC 9110 §12.5.3: a coding named with a
/// weight of zero is refused; `*` stands for any coding not named).
pub fn accepts_gzip(value: &str) -> bool {
    let mut gzip = None;
    let mut any = None;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        let weight = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .next_back()
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(weight > 0.0);
        } else if coding == "*" {
            any = Some(weight > 0.0);
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// The snapshot compressed for the wire. The fastest level: a full snapshot of a large store is
/// hundreds of megabytes of JSON, its hashes are random and barely compress at any level, and
/// the rest (names, scopes, keys) shrinks several times over already at level 1.
pub fn gzip(json: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut z = flate2::write::GzEncoder::new(
        Vec::with_capacity(json.len() / 3),
        flate2::Compression::fast(),
    );
    // Writing into a Vec cannot fail.
    let _ = z.write_all(json);
    z.finish().unwrap_or_default()
}

/// A full snapshot, written as the store reads it out.
struct Full<'a> {
    out: &'a mut String,
    now: i64,
    tokens: usize,
    /// Repositories written so far, once the token list is closed.
    repositories: Option<usize>,
}

impl CheckStateSink for Full<'_> {
    fn generation(&mut self, generation: i64) {
        open(self.out, generation, None, self.now);
    }

    fn token(&mut self, hash: &SecretHash, rec: &TokenRecord) {
        token(self.out, self.tokens, hash, rec);
        self.tokens += 1;
    }

    fn repository(&mut self, r: &Repository) {
        let i = self.repositories.get_or_insert_with(|| {
            self.out.push_str(r#"],"repositories":{"#);
            0
        });
        repository(self.out, *i, &r.workspace, &r.slug, Some(&r.project));
        *i += 1;
    }
}

/// Everything before the first token.
fn open(out: &mut String, version: i64, since: Option<i64>, now: i64) {
    let mut n = itoa::Buffer::new();
    out.push_str(r#"{"format":"#);
    out.push_str(n.format(FORMAT));
    out.push_str(r#","version":"#);
    out.push_str(n.format(version));
    if let Some(since) = since {
        out.push_str(r#","since":"#);
        out.push_str(n.format(since));
    }
    out.push_str(r#","generated_at":"#);
    push_json_str(out, &clock::to_rfc3339(now));
    out.push_str(r#","generated_at_unix":"#);
    out.push_str(n.format(now));
    out.push_str(r#","tokens":["#);
}

/// The hash as a snapshot spells it: unpadded base64url, 43 characters.
pub fn hash_key(hash: &SecretHash) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash)
}

fn token(out: &mut String, i: usize, hash: &SecretHash, rec: &TokenRecord) {
    if i > 0 {
        out.push(',');
    }
    out.push_str(r#"[""#);
    out.push_str(&hash_key(hash));
    out.push_str(r#"","#);
    push_json_str(out, &rec.id);
    out.push(',');
    out.push_str(&claims_json(rec));
    out.push(']');
}

fn repository(out: &mut String, i: usize, ws: &str, slug: &str, project: Option<&str>) {
    if i > 0 {
        out.push(',');
    }
    push_json_str(out, &repository_key(ws, slug));
    out.push(':');
    match project {
        Some(p) => push_json_str(out, p),
        None => out.push_str("null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_sent_only_where_the_client_accepts_it() {
        for yes in [
            "gzip",
            "br, gzip, deflate",
            "GZIP;q=0.5",
            "x-gzip",
            "*",
            "br, *;q=0.1",
        ] {
            assert!(accepts_gzip(yes), "{yes}");
        }
        for no in [
            "",
            "identity",
            "br, deflate",
            "gzip;q=0",
            "gzip; q=0.0",
            "*, gzip;q=0",
            "*;q=0",
        ] {
            assert!(!accepts_gzip(no), "{no}");
        }
    }

    #[test]
    fn the_compressed_snapshot_reads_back_whole() {
        use std::io::Read as _;
        let json = format!("[{}]", vec!["{\"kind\":\"repository\"}"; 1000].join(","));
        let z = gzip(json.as_bytes());
        assert!(z.len() * 10 < json.len(), "{} of {}", z.len(), json.len());
        let mut back = String::new();
        flate2::read::GzDecoder::new(&z[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, json);
    }
}
