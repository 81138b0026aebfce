//! What a client can put in a check request besides what its front sets: its own forwarding
//! headers, repeats, overrides, bytes that are not UTF-8, and heads the HTTP layer refuses.
//! Through `/check` of a real server, byte for byte over TCP, in each `--forwarded-headers` mode.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

const API: &str = "/2.0/repositories/acme/api";
const WEB: &str = "/2.0/repositories/acme/web";

/// A check request with these header lines, written as given.
fn check_request(lines: &[&[u8]]) -> Vec<u8> {
    let mut req = b"GET /check HTTP/1.1\r\nHost: scopegate\r\n".to_vec();
    for line in lines {
        req.extend_from_slice(line);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"\r\n");
    req
}

fn line(name: &str, value: &str) -> Vec<u8> {
    format!("{name}: {value}").into_bytes()
}

fn one(base: &str, lines: &[Vec<u8>]) -> RawAnswer {
    let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
    let mut answers = exchange(base, &check_request(&refs));
    assert_eq!(answers.len(), 1, "{answers:?}");
    answers.remove(0)
}

fn server(dir: &std::path::Path, mode: Option<&str>) -> Server {
    std::fs::create_dir_all(dir).unwrap();
    let mut opts = Options::new(dir, real_policy());
    if let Some(mode) = mode {
        opts.extra = vec!["--forwarded-headers".into(), mode.into()];
    }
    let s = start(dir, opts);
    s.seed();
    s
}

#[test]
fn a_clients_own_forwarding_headers_never_steer_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let either = server(&dir.path().join("either"), None);
    let (_, tok) = either.issue("/workspaces/acme/repositories/api", &["repository"]);
    let auth = line("Authorization", &format!("Bearer {tok}"));
    let original = |m: &str, u: &str| [line("X-Original-Method", m), line("X-Original-URI", u)];
    let forwarded = |m: &str, u: &str| [line("X-Forwarded-Method", m), line("X-Forwarded-Uri", u)];
    let with = |parts: &[&[Vec<u8>]]| -> Vec<Vec<u8>> {
        let mut all = vec![auth.clone()];
        for p in parts {
            all.extend_from_slice(p);
        }
        all
    };
    // Honest: each family alone.
    for lines in [
        with(&[&original("GET", API)]),
        with(&[&forwarded("GET", API)]),
    ] {
        let a = one(&either.base, &lines);
        assert_eq!(a.status, 200, "{a:?}");
    }
    // The issue's spoof behind Caddy: the client's X-Original-* name its own repository, the
    // front's X-Forwarded-* the request it makes. Refused in `either`, in any spelling.
    let spoofs = [
        with(&[&original("GET", API), &forwarded("DELETE", WEB)]),
        with(&[&forwarded("DELETE", WEB), &original("GET", API)]),
        with(&[
            &[
                line("x-original-method", "GET"),
                line("x-original-uri", API),
            ],
            &forwarded("DELETE", WEB),
        ]),
        with(&[&original("DELETE", WEB), &forwarded("GET", API)]),
        // Only one part spoofed.
        with(&[&[line("X-Original-URI", API)], &forwarded("GET", WEB)]),
        with(&[
            &[line("X-Forwarded-Method", "GET")],
            &original("DELETE", API),
        ]),
    ];
    for lines in &spoofs {
        let a = one(&either.base, lines);
        assert_eq!((a.status, a.reason().as_str()), (403, "bad_input"), "{a:?}");
    }
    // Repeats, in either spelling, even with equal values; Authorization too.
    for extra in [
        line("X-Original-URI", API),
        line("x-original-uri", API),
        line("X-Original-Method", "GET"),
        line("X-HTTP-Method-Override", "DELETE"),
        line("X-Original-URL", WEB),
        auth.clone(),
    ] {
        let mut lines = with(&[&original("GET", API)]);
        lines.push(extra.clone());
        let a = one(&either.base, &lines);
        assert_eq!(
            (a.status, a.reason().as_str()),
            (403, "bad_input"),
            "{}: {a:?}",
            String::from_utf8_lossy(&extra)
        );
    }

    // Pinned to the front's family, the client's other family is ignored: the check is about
    // the request the front names.
    let nginx = server(&dir.path().join("original"), Some("original"));
    let caddy = server(&dir.path().join("forwarded"), Some("forwarded"));
    for (s, front, client, front_is_get) in [
        (
            &nginx,
            original("DELETE", WEB),
            forwarded("GET", API),
            false,
        ),
        (&nginx, original("GET", API), forwarded("DELETE", WEB), true),
        (
            &caddy,
            forwarded("DELETE", WEB),
            original("GET", API),
            false,
        ),
        (&caddy, forwarded("GET", API), original("DELETE", WEB), true),
    ] {
        let (_, tok) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
        let mut lines = vec![line("Authorization", &format!("Bearer {tok}"))];
        lines.extend_from_slice(&client);
        lines.extend_from_slice(&front);
        lines.extend_from_slice(&client);
        let a = one(&s.base, &lines);
        if front_is_get {
            assert_eq!(a.status, 200, "{a:?}");
        } else {
            assert_eq!(
                (a.status, a.reason().as_str()),
                (403, "outside_resource"),
                "{a:?}"
            );
        }
        // The front's own family alone is what counts; without it nothing is read.
        let a = one(
            &s.base,
            &[lines[0].clone(), client[0].clone(), client[1].clone()],
        );
        assert_eq!((a.status, a.reason().as_str()), (403, "bad_input"), "{a:?}");
    }
    // Each names the family it reads in its start-up log.
    assert!(either.logs().contains(r#"forwarded_headers="either""#));
    assert!(nginx.logs().contains(r#"forwarded_headers="original""#));
    assert!(caddy.logs().contains(r#"forwarded_headers="forwarded""#));
}

#[test]
fn bytes_that_are_not_utf8_are_a_bad_path_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), None);
    let (_, tok) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    let auth = line("Authorization", &format!("Bearer {tok}"));
    let uri = |raw: &[u8]| [b"X-Original-URI: ".as_slice(), raw].concat();
    // `api` followed by a byte that starts no UTF-8 sequence: once "api\u{FFFD}", a name the
    // check knew nothing about; now refused, after the credentials are read as usual.
    for raw in [
        b"/2.0/repositories/acme/api\xff".as_slice(),
        b"/2.0/repositories/acme/caf\xe9",
        b"/2.0/repositories/acme/api?q=\xff",
    ] {
        let a = one(
            &s.base,
            &[auth.clone(), line("X-Original-Method", "GET"), uri(raw)],
        );
        assert_eq!((a.status, a.reason().as_str()), (403, "bad_path"), "{a:?}");
    }
    // UTF-8 is read as UTF-8: the same repository as its percent-encoded spelling.
    let a = one(
        &s.base,
        &[
            auth.clone(),
            line("X-Original-Method", "GET"),
            uri("/2.0/repositories/acme/caf\u{e9}".as_bytes()),
        ],
    );
    let b = one(
        &s.base,
        &[
            auth,
            line("X-Original-Method", "GET"),
            uri(b"/2.0/repositories/acme/caf%C3%A9"),
        ],
    );
    assert_eq!((a.status, a.reason()), (b.status, b.reason()));
    assert_eq!(a.reason(), "outside_resource");
}

#[test]
fn the_http_layer_never_answers_a_check_itself() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), None);
    let (_, tok) = s.issue("/workspaces/acme/repositories/api", &["repository"]);
    let good = check_request(&[
        &line("X-Original-Method", "GET"),
        &line("X-Original-URI", API),
        &line("Authorization", &format!("Bearer {tok}")),
    ]);
    let many: Vec<Vec<u8>> = (0..150).map(|i| line(&format!("X-H{i}"), "v")).collect();
    let big = line("X-Big", &"a".repeat(200 * 1024));
    let huge = line("X-Huge", &"a".repeat(600 * 1024));
    let hostile: Vec<(&str, Vec<Vec<u8>>)> = vec![
        (
            "a control byte in a value",
            vec![b"X-Original-URI: /a\x01b".to_vec()],
        ),
        (
            "a space in a header name",
            vec![b"X Original-URI: /a".to_vec()],
        ),
        ("a line without a colon", vec![b"X-Original-URI".to_vec()]),
        (
            "an obsolete folded line",
            vec![line("X-A", "b"), b" folded".to_vec()],
        ),
        ("150 headers", many),
        ("a 200 KiB header", vec![big]),
        ("a 600 KiB header, beyond hyper's own buffer", vec![huge]),
        (
            "two Content-Lengths",
            vec![line("Content-Length", "1"), line("Content-Length", "2")],
        ),
    ];
    for (what, lines) in &hostile {
        let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        let bad = check_request(&refs);
        // Alone, and after a good check on the same connection (answered first, and in full).
        for (stream, expect) in [(bad.clone(), 1), ([good.clone(), bad].concat(), 2)] {
            let answers = exchange(&s.base, &stream);
            assert_eq!(answers.len(), expect, "{what}: {answers:?}");
            if expect == 2 {
                assert_eq!(answers[0].status, 200, "{what}: {answers:?}");
            }
            let last = answers.last().unwrap();
            assert_eq!(
                (last.status, last.reason().as_str()),
                (403, "bad_input"),
                "{what}: {last:?}"
            );
            assert!(last
                .head
                .to_ascii_lowercase()
                .contains("content-type: application/json"));
        }
    }
    // Anywhere else the HTTP layer answers as it always did.
    let answers = exchange(
        &s.base,
        b"GET /admin/v1/workspaces HTTP/1.1\r\nX A: b\r\n\r\n",
    );
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0].status, 400);
    // And the server is as good as new.
    assert_eq!(exchange(&s.base, &good)[0].status, 200);
}
