//! Token secrets, admin credentials and the admin key appear only in the one answer that hands
//! them out: not in the store (its audit log included), its WAL, a list, an error or a log line.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use serde_json::json;

#[test]
fn secrets_are_nowhere_but_in_their_creation_answer() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = Options::new(dir.path(), real_policy());
    opts.admin_key = None; // generated, printed once, stored hashed
    let mut s = start(dir.path(), opts);
    let stdout = String::from_utf8(read_all(&s.stdout)).unwrap();
    let line = stdout
        .lines()
        .find(|l| l.starts_with("admin key"))
        .expect("admin key printed");
    let admin_key = line.rsplit(' ').next().unwrap().to_string();
    assert!(admin_key.len() > 40);

    let admin = |method: &str, path: &str, body: Option<serde_json::Value>| {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = s
            .http
            .request(m, s.url(&format!("/admin/v1{path}")))
            .bearer_auth(&admin_key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let responses = std::cell::RefCell::new(String::new());
    let push = |(status, text): (u16, String)| {
        responses.borrow_mut().push_str(&text);
        (status, text)
    };
    assert_eq!(
        push(admin(
            "PUT",
            "/workspaces/acme",
            Some(json!({"plan": "premium"}))
        ))
        .0,
        201
    );
    push(admin("PUT", "/workspaces/acme/projects/P", None));
    push(admin(
        "PUT",
        "/workspaces/acme/repositories/api",
        Some(json!({"project": "P"})),
    ));

    let mut secrets = Vec::new();
    let mut ids = Vec::new();
    for path in [
        "/workspaces/acme",
        "/workspaces/acme/projects/P",
        "/workspaces/acme/repositories/api",
    ] {
        let (st, text) = admin(
            "POST",
            &format!("{path}/access-tokens"),
            Some(json!({"name": "n", "scopes": ["repository"], "expires_at": time_in(3600)})),
        );
        assert_eq!(st, 201);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        secrets.push(v["token"].as_str().unwrap().to_string());
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    let (st, text) = admin(
        "POST",
        &format!("/access-tokens/{}/rotate", ids[2]),
        Some(json!({"expires_at": time_in(3600)})),
    );
    assert_eq!(st, 201);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    secrets.push(v["token"].as_str().unwrap().to_string());

    // Admin credentials: created (each secret once), used, listed and one revoked. Their
    // secrets, like the tokens', must be in no row of the audit log and no log line.
    let mut credentials = Vec::new();
    for (role, ws) in [("token-manager", Some("acme")), ("auditor", None)] {
        let (st, text) = admin(
            "POST",
            "/credentials",
            Some(json!({"name": role, "role": role, "workspace": ws})),
        );
        assert_eq!(st, 201, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        credentials.push((
            v["id"].as_str().unwrap().to_string(),
            v["credential"].as_str().unwrap().to_string(),
        ));
    }
    let r = s.raw(
        s.http
            .post(s.url("/admin/v1/workspaces/acme/access-tokens"))
            .bearer_auth(&credentials[0].1)
            .json(&json!({"name": "by-manager", "scopes": ["repository"], "expires_at": time_in(3600)})),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    secrets.push(r.json()["token"].as_str().unwrap().to_string());
    let r = s.raw(
        s.http
            .get(s.url("/admin/v1/audit?limit=1000"))
            .bearer_auth(&credentials[1].1),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    responses.borrow_mut().push_str(&r.text);
    push(admin("GET", "/credentials", None));
    push(admin(
        "DELETE",
        &format!("/credentials/{}", credentials[1].0),
        None,
    ));
    secrets.extend(credentials.iter().map(|(_, secret)| secret.clone()));

    // Use every token, including failing uses, and every listing.
    for t in &secrets {
        responses
            .borrow_mut()
            .push_str(&s.check(Some(t), "GET", "/2.0/repositories/acme/api").text);
        responses.borrow_mut().push_str(
            &s.check(Some(t), "GET", "/2.0/repositories/acme/api/issues")
                .text,
        );
        responses
            .borrow_mut()
            .push_str(&s.check(Some(t), "DELETE", "/2.0/repositories/other/x").text);
        let mut broken = t.clone();
        broken.push('x');
        responses.borrow_mut().push_str(
            &s.check(Some(&broken), "GET", "/2.0/repositories/acme/api")
                .text,
        );
    }
    push(admin("DELETE", &format!("/access-tokens/{}", ids[0]), None));
    responses.borrow_mut().push_str(
        &s.check(Some(&secrets[0]), "GET", "/2.0/repositories/acme/api")
            .text,
    );
    for path in [
        "/workspaces/acme",
        "/workspaces/acme/projects/P",
        "/workspaces/acme/repositories/api",
    ] {
        push(admin("GET", &format!("{path}/access-tokens"), None));
    }
    for id in &ids {
        push(admin("GET", &format!("/access-tokens/{id}"), None));
    }
    push(admin(
        "POST",
        "/workspaces/acme/access-tokens",
        Some(json!({"name": "", "scopes": ["x"]})),
    ));
    responses.borrow_mut().push_str(
        &s.raw(
            s.http
                .get(s.url("/admin/v1/workspaces"))
                .bearer_auth(&secrets[1]),
        )
        .text,
    );
    std::thread::sleep(std::time::Duration::from_millis(1200)); // let access times flush
                                                                // Read the files while the server runs (the WAL holds the recent commits) and after it stops.
                                                                // Read the store while the server runs (the write-ahead log holds the recent commits) and
                                                                // after it stops: for SQLite its file and WAL, for PostgreSQL a pg_dump and the server's WAL.
    let store_bytes = |s: &Server| -> (Vec<u8>, Vec<u8>) {
        match backend() {
            Backend::Sqlite => {
                let path = std::path::Path::new(&s.db);
                (read_all(path), read_all(&path.with_extension("db-wal")))
            }
            Backend::Postgres => (pg().pg_dump(PgServer::db_of(&s.db)), pg().wal_bytes()),
        }
    };
    let (mut db, mut wal) = store_bytes(&s);
    assert!(!wal.is_empty(), "the WAL should hold recent commits");
    s.signal(libc::SIGTERM);
    let _ = s.child.wait();
    let (db2, wal2) = store_bytes(&s);
    db.extend(db2);
    wal.extend(wal2);
    let logs = s.logs();
    assert!(!db.is_empty());
    // The audit log is in what was searched: the search below covers it.
    for event in [
        "token.created",
        "token.rotated",
        "credential.created",
        "credential.revoked",
    ] {
        assert!(contains(&db, event), "no {event} entry in the store");
    }
    for secret in secrets.iter().chain([&admin_key]) {
        assert!(!contains(&db, secret), "secret in the store");
        assert!(!contains(&wal, secret), "secret in the WAL");
        assert!(
            !responses.borrow().contains(secret.as_str()),
            "secret in a list or error response"
        );
        // The random part alone must not leak either.
        assert!(!contains(&db, &secret[5..45]) && !contains(&wal, &secret[5..45]));
    }
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "token secret in the logs");
    }
    assert!(
        !logs.contains(PG_PASSWORD),
        "the database password in the logs"
    );
    assert_eq!(
        logs.matches(admin_key.as_str()).count(),
        1,
        "the admin key is printed exactly once"
    );
    assert!(!read_all(&s.stderr).is_empty());
    assert!(!String::from_utf8_lossy(&read_all(&s.stderr)).contains(&admin_key));

    // A restart on the same store keeps the stored key and prints none.
    let mut opts = Options::new(dir.path(), real_policy());
    opts.admin_key = None;
    let s2 = start(dir.path(), opts);
    assert!(!String::from_utf8(read_all(&s2.stdout))
        .unwrap()
        .contains("admin key"));
    let r = s2.raw(
        s2.http
            .get(s2.url("/admin/v1/workspaces"))
            .bearer_auth(&admin_key),
    );
    assert_eq!(r.status, 200);
}
