//! Shared test support: the built policy module, fake modules written in WAT, a real `scopegate`
//! process on a free 127.0.0.1 port, and a real HTTP client.

// libc: whether the tests run as root, a process group killed, a hook at exit.
#![allow(unsafe_code)]
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN_KEY: &str = "test-admin-key-5e3c1d0a9b8f7e6d";
pub const BIN: &str = env!("CARGO_BIN_EXE_scopegate");

/// The module built by `cargo xtask wasm`. Tests that need it fail loudly when it is missing.
pub fn real_policy() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../www/pkg/scopegate_policy_bg.wasm");
    assert!(
        p.exists(),
        "{} is missing: build the policy module first with `cargo xtask wasm`",
        p.display()
    );
    p.canonicalize().unwrap()
}

/// A stand-in policy module that passes the host's load-time self-test and then misbehaves on
/// request: a check whose headers name `LOOP` never returns, `HUGE` grows memory without bound.
/// It seals every secret alike (so one token per store), looks it up for any other check and
/// allows it. It also carries a JS import and an externref table, as wasm-bindgen output does.
pub fn fake_policy_wat(abi_version: i32) -> String {
    let allow = r#"{"allow":true,"status":200,"reason":"allowed","message":"fake allow","operation":"GET /repositories/{workspace}/{repo_slug}","required_scopes":["repository"],"granted_scopes":["repository"],"missing_scopes":[]}"#;
    let revoked = r#"{"allow":false,"status":401,"reason":"token_revoked","message":"fake revoked","operation":null,"required_scopes":[],"granted_scopes":["repository"],"missing_scopes":[]}"#;
    let route = r#"{"operation":"GET /repositories/{workspace}/{repo_slug}","required_scopes":["repository"],"target":{"kind":"repository","workspace":"acme","repository":"api"}}"#;
    let ok = r#"{"ok":true}"#;
    let hash = "a".repeat(64);
    let sealed = format!(r#"{{"secret":"sgat_fake","sha256":"{hash}"}}"#);
    let lookup = format!(
        r#"{{"lookup":{{"sha256":"{hash}","repository":{{"workspace":"acme","slug":"api"}}}},"request":{{"method":"GET","path":"/2.0/repositories/acme/api"}}}}"#
    );
    // The refusal the self-test expects for its repeated header (its only check naming /use…).
    let refused = r#"{"status":403,"reason":"bad_input","headers":[["content-type","application/json"]],"body":"{}"}"#;
    let allowed = r#"{"status":200,"reason":"allowed","headers":[["content-type","application/json"],["x-token-id","tok_1"]],"body":"{\"allow\":true}"}"#;
    let failed = r#"{"status":403,"reason":"policy_failure","headers":[["content-type","application/json"]],"body":"{\"type\":\"error\",\"error\":{\"message\":\"fake\",\"detail\":{\"reason\":\"policy_failure\",\"required\":[],\"granted\":[]}}}"}"#;
    let names = r#"["x-original-method","x-original-uri","authorization"]"#;
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let (a, r, ro, o) = (1024, 2048, 3072, 4096);
    let (q1, q2, q3, q4, q5, q6) = (4352, 4608, 5120, 5376, 5632, 6144);
    format!(
        r#"(module
  (import "wbg" "__wbg_never_called" (func $never))
  (memory (export "memory") 2)
  (table 4 funcref)
  (table 4 externref)
  (global $heap (mut i32) (i32.const 8192))
  (data (i32.const {a}) "{allow_s}")
  (data (i32.const {r}) "{revoked_s}")
  (data (i32.const {ro}) "{route_s}")
  (data (i32.const {o}) "{ok_s}")
  (data (i32.const {q1}) "{sealed_s}")
  (data (i32.const {q2}) "{lookup_s}")
  (data (i32.const {q3}) "{refused_s}")
  (data (i32.const {q4}) "{allowed_s}")
  (data (i32.const {q5}) "{failed_s}")
  (data (i32.const {q6}) "{names_s}")
  (func $pack (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $n))))
  (func $has (param $p i32) (param $n i32) (param $word i32) (result i32)
    (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
        (if (i32.eq (i32.load (i32.add (local.get $p) (local.get $i))) (local.get $word))
          (then (return (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.const 0))
  (func (export "sg_alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (local.get $p) (local.get $n)) (i32.const 15)) (i32.const -16)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))))
    (local.get $p))
  (func (export "sg_free") (param i32 i32))
  (func (export "sg_abi_version") (result i32) (i32.const {abi_version}))
  (func (export "sg_authorize") (param $p i32) (param $n i32) (result i64)
    (if (call $has (local.get $p) (local.get $n) (i32.const 0x743a2264))
      (then (return (call $pack (i32.const {r}) (i32.const {revoked_len})))))
    (call $pack (i32.const {a}) (i32.const {allow_len})))
  (func (export "sg_route") (param i32 i32) (result i64)
    (call $pack (i32.const {ro}) (i32.const {route_len})))
  (func (export "sg_check_issue") (param i32 i32) (result i64)
    (call $pack (i32.const {o}) (i32.const {ok_len})))
  (func (export "sg_seal") (param i32 i32) (result i64)
    (call $pack (i32.const {q1}) (i32.const {sealed_len})))
  (func (export "sg_introspect") (param i32 i32) (result i64)
    (call $pack (i32.const {o}) (i32.const {ok_len})))
  (func (export "sg_check_request") (param $p i32) (param $n i32) (result i64)
    (if (call $has (local.get $p) (local.get $n) (i32.const 0x504F4F4C))
      (then (loop $forever (br $forever))))
    (if (call $has (local.get $p) (local.get $n) (i32.const 0x45475548))
      (then (drop (memory.grow (i32.const 30000))) unreachable))
    (if (call $has (local.get $p) (local.get $n) (i32.const 0x6573752f))
      (then (return (call $pack (i32.const {q3}) (i32.const {refused_len})))))
    (call $pack (i32.const {q2}) (i32.const {lookup_len})))
  (func (export "sg_check_answer") (param $p i32) (param $n i32) (result i64)
    (if (call $has (local.get $p) (local.get $n) (i32.const 0x6c696166))
      (then (return (call $pack (i32.const {q5}) (i32.const {failed_len})))))
    (call $pack (i32.const {q4}) (i32.const {allowed_len})))
  (func (export "sg_check_header_names") (result i64)
    (call $pack (i32.const {q6}) (i32.const {names_len}))))"#,
        allow_s = esc(allow),
        revoked_s = esc(revoked),
        route_s = esc(route),
        ok_s = esc(ok),
        sealed_s = esc(&sealed),
        lookup_s = esc(&lookup),
        refused_s = esc(refused),
        allowed_s = esc(allowed),
        failed_s = esc(failed),
        names_s = esc(names),
        sealed_len = sealed.len(),
        lookup_len = lookup.len(),
        refused_len = refused.len(),
        allowed_len = allowed.len(),
        failed_len = failed.len(),
        names_len = names.len(),
        allow_len = allow.len(),
        revoked_len = revoked.len(),
        route_len = route.len(),
        ok_len = ok.len(),
    )
}

pub fn write_wat(path: &Path, wat: &str) {
    std::fs::write(path, wat::parse_str(wat).expect("valid WAT")).unwrap();
}

pub fn sha256_hex(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(std::fs::read(path).unwrap());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The backend a test binary runs against: `SCOPEGATE_TEST_DB=postgres` selects PostgreSQL (the
/// harness starts a private server), anything else the embedded SQLite default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("SCOPEGATE_TEST_DB").as_deref() {
        Ok("postgres") | Ok("postgresql") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// The password of the harness's PostgreSQL server: tests assert it never reaches a log.
pub const PG_PASSWORD: &str = "pg-pass-0f3b9d27c4e1";

/// One PostgreSQL server per test binary, in a temporary directory, stopped at exit.
pub struct PgServer {
    pub bin: PathBuf,
    pub root: PathBuf,
    pub data: PathBuf,
    pub socket_dir: PathBuf,
    pub port: u16,
}

fn pg_bin() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if p.join("initdb").exists() {
            return p;
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.pop().filter(|p| p.join("initdb").exists()).expect(
        "PostgreSQL is not installed (CI installs Debian's `postgresql`; see xtask/src/setup.rs)",
    )
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

impl PgServer {
    /// A command run as the server's owner: PostgreSQL refuses to run as root.
    fn as_owner(&self, tool: &str) -> Command {
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join(tool));
            c
        } else {
            Command::new(self.bin.join(tool))
        }
    }

    fn start() -> PgServer {
        let bin = pg_bin();
        let root = tempfile::Builder::new()
            .prefix("scopegate-pg-")
            .tempdir()
            .unwrap()
            .keep();
        let data = root.join("data");
        let socket_dir = root.join("sock");
        std::fs::create_dir(&socket_dir).unwrap();
        let pwfile = root.join("pw");
        std::fs::write(&pwfile, PG_PASSWORD).unwrap();
        if is_root() {
            let st = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&root)
                .status()
                .unwrap();
            assert!(st.success());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let srv = PgServer {
            bin,
            root: root.clone(),
            data: data.clone(),
            socket_dir: socket_dir.clone(),
            port,
        };
        let out = srv
            .as_owner("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        srv.pg_ctl_start();
        extern "C" fn stop_at_exit() {
            if let Some(s) = PG.get() {
                let _ = s
                    .as_owner("pg_ctl")
                    .arg("-D")
                    .arg(&s.data)
                    .args(["-m", "immediate", "stop"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
                let _ = std::fs::remove_dir_all(&s.root);
            }
        }
        unsafe {
            libc::atexit(stop_at_exit);
        }
        srv
    }

    fn pg_ctl_start(&self) {
        let out = self
            .as_owner("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.root.join("server.log"))
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
                self.port,
                self.socket_dir.display()
            ))
            .args(["-w", "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default()
        );
    }

    /// Stops the server (sessions are cut, as in a crash of the network or a restart).
    pub fn stop(&self) {
        let out = self
            .as_owner("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts it again on the same port, with the same data.
    pub fn restart(&self) {
        self.pg_ctl_start();
    }

    /// `psql` as the superuser over the server's socket.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                "postgres",
            ])
            .arg("-h")
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-d", db, "-c", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres:{PG_PASSWORD}@127.0.0.1:{}/{db}",
            self.port
        )
    }

    /// The database a URL made by `url` names.
    pub fn db_of(url: &str) -> &str {
        url.rsplit('/').next().unwrap()
    }

    pub fn pg_dump(&self, db: &str) -> Vec<u8> {
        let out = Command::new(self.bin.join("pg_dump"))
            .args(["-U", "postgres", "-h"])
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(self.port.to_string())
            .arg(db)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Every byte of the server's write-ahead log.
    pub fn wal_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(self.data.join("pg_wal")).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                v.extend(read_all(&p));
            }
        }
        v
    }
}

static PG: std::sync::OnceLock<PgServer> = std::sync::OnceLock::new();

pub fn pg() -> &'static PgServer {
    PG.get_or_init(PgServer::start)
}

/// The store a test names `name` in `dir`: a SQLite file there, or a PostgreSQL database whose
/// name derives from both, so that a restart in the same test finds the same data.
pub fn db_named(dir: &Path, name: &str) -> String {
    match backend() {
        Backend::Sqlite => dir.join(format!("{name}.db")).to_str().unwrap().to_string(),
        Backend::Postgres => {
            use sha2::{Digest, Sha256};
            let d = Sha256::digest(format!("{}/{name}", dir.display()));
            let db: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
            let db = format!("sg_{db}");
            let pg = pg();
            let exists = pg.psql(
                "postgres",
                &format!("SELECT 1 FROM pg_database WHERE datname = '{db}'"),
            );
            if exists.trim().is_empty() {
                pg.psql("postgres", &format!("CREATE DATABASE {db}"));
            }
            pg.url(&db)
        }
    }
}

/// Run SQL on a test's store directly, behind the service's back.
pub fn sql(db: &str, statement: &str) {
    match backend() {
        Backend::Sqlite => {
            rusqlite::Connection::open(db)
                .unwrap()
                .execute_batch(statement)
                .unwrap();
        }
        Backend::Postgres => {
            pg().psql(PgServer::db_of(db), statement);
        }
    }
}

pub struct Server {
    pub child: Child,
    pub base: String,
    pub dir: PathBuf,
    pub db: String,
    pub policy: PathBuf,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    pub http: reqwest::blocking::Client,
}

pub struct Options {
    pub policy: PathBuf,
    pub db: String,
    pub admin_key: Option<String>,
    pub extra: Vec<String>,
}

impl Options {
    pub fn new(dir: &Path, policy: PathBuf) -> Self {
        Options {
            policy,
            db: db_named(dir, "scopegate"),
            admin_key: Some(ADMIN_KEY.into()),
            extra: vec![],
        }
    }
}

fn log_path(dir: &Path, name: &str) -> PathBuf {
    // A new pair of log files per start, so restarts in one test keep every log.
    for i in 0.. {
        let p = dir.join(format!("{name}.{i}.log"));
        if !p.exists() {
            return p;
        }
    }
    unreachable!()
}

/// Start `scopegate serve`; returns an error string with the logs if it exits instead.
pub fn try_start(dir: &Path, opts: Options) -> Result<Server, String> {
    let stdout = log_path(dir, "stdout");
    let stderr = log_path(dir, "stderr");
    let mut cmd = Command::new(BIN);
    cmd.arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--db")
        .arg(&opts.db)
        .arg("--policy")
        .arg(&opts.policy)
        .arg("--www")
        .arg(dir.join("www"))
        .args(&opts.extra)
        .env_remove("SCOPEGATE_ADMIN_KEY")
        .env("SCOPEGATE_LOG", "info,scopegate_host=debug")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap());
    if let Some(k) = &opts.admin_key {
        cmd.env("SCOPEGATE_ADMIN_KEY", k);
    }
    let mut child = cmd.spawn().expect("spawn scopegate");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = std::fs::read_to_string(&stdout).unwrap_or_default();
        if let Some(line) = out
            .lines()
            .find(|l| l.starts_with("scopegate listening on "))
        {
            let base = line
                .trim_start_matches("scopegate listening on ")
                .trim()
                .to_string();
            return Ok(Server {
                child,
                base,
                dir: dir.to_path_buf(),
                db: opts.db,
                policy: opts.policy,
                stdout,
                stderr,
                http: reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap(),
            });
        }
        if let Some(status) = child.try_wait().unwrap() {
            let err = std::fs::read_to_string(&stderr).unwrap_or_default();
            return Err(format!("scopegate exited with {status}: {out}\n{err}"));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("scopegate did not start: {out}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn start(dir: &Path, opts: Options) -> Server {
    try_start(dir, opts).unwrap_or_else(|e| panic!("{e}"))
}

pub fn start_real(dir: &Path) -> Server {
    start(dir, Options::new(dir, real_policy()))
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
    pub fn reason(&self) -> String {
        let v = self.json();
        v["error"]["detail"]["reason"]
            .as_str()
            .or(v["error"]["reason"].as_str())
            .or(v["reason"].as_str())
            .unwrap_or("")
            .to_string()
    }
}

fn to_resp(r: reqwest::blocking::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().unwrap_or_default();
    Resp {
        status,
        headers,
        text,
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(m, self.url(&format!("/admin/v1{path}")))
            .bearer_auth(ADMIN_KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        to_resp(req.send().expect("admin request"))
    }

    pub fn raw(&self, req: reqwest::blocking::RequestBuilder) -> Resp {
        to_resp(req.send().expect("request"))
    }

    /// `/check` with a Bearer token (or none).
    pub fn check(&self, token: Option<&str>, method: &str, uri: &str) -> Resp {
        let mut req = self
            .http
            .get(self.url("/check"))
            .header("X-Original-Method", method)
            .header("X-Original-URI", uri);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        to_resp(req.send().expect("check request"))
    }

    pub fn logs(&self) -> String {
        let mut s = String::new();
        for entry in std::fs::read_dir(&self.dir).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "log") {
                s.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
        s
    }

    pub fn sigkill(&mut self) {
        let _ = self.child.kill(); // SIGKILL on unix
        let _ = self.child.wait();
    }

    pub fn signal(&self, sig: i32) {
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Create `acme` (premium) with project PROJ and repository api, plus the given extras.
    pub fn seed(&self) {
        assert_eq!(
            self.admin("PUT", "/workspaces/acme", Some(json!({"plan": "premium"})))
                .status,
            201
        );
        assert_eq!(
            self.admin("PUT", "/workspaces/acme/projects/PROJ", None)
                .status,
            201
        );
        assert_eq!(
            self.admin("PUT", "/workspaces/acme/projects/OTHER", None)
                .status,
            201
        );
        assert_eq!(
            self.admin(
                "PUT",
                "/workspaces/acme/repositories/api",
                Some(json!({"project": "PROJ"}))
            )
            .status,
            201
        );
    }

    /// Issue a token; returns (id, secret).
    pub fn issue(&self, resource_path: &str, scopes: &[&str]) -> (String, String) {
        let expires = time_in(86400);
        let r = self.admin(
            "POST",
            &format!("{resource_path}/access-tokens"),
            Some(json!({"name": "t", "scopes": scopes, "expires_at": expires})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let v = r.json();
        (
            v["id"].as_str().unwrap().into(),
            v["token"].as_str().unwrap().into(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// RFC 3339 for now + `secs`.
pub fn time_in(secs: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(now() + secs).unwrap();
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Run the CLI against a store.
pub fn cli(db: &str, policy: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("--db")
        .arg(db)
        .arg("--policy")
        .arg(policy)
        .args(args)
        .env_remove("SCOPEGATE_ADMIN_KEY")
        .env_remove("SCOPEGATE_TOKEN")
        .output()
        .expect("run scopegate")
}

pub fn read_all(path: &Path) -> Vec<u8> {
    let mut v = Vec::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        f.read_to_end(&mut v).unwrap();
    }
    v
}

pub fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// One answer read off a raw connection.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl RawAnswer {
    pub fn reason(&self) -> String {
        let v: serde_json::Value = serde_json::from_str(&self.body).unwrap_or_default();
        v["error"]["detail"]["reason"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

/// Writes `bytes` on a fresh connection and reads every answer until the server closes it:
/// the request asks for that (`Connection: close`), or the client's side is closed after the
/// bytes (`half_close`), which servers may take as the client giving up.
pub fn exchange_with(base: &str, bytes: &[u8], half_close: bool) -> Vec<RawAnswer> {
    let mut tcp = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The server may answer and close before it has read all of an oversized head.
    let _ = std::io::Write::write_all(&mut tcp, bytes);
    if half_close {
        let _ = tcp.shutdown(std::net::Shutdown::Write);
    }
    let mut raw = Vec::new();
    let _ = std::io::Read::read_to_end(&mut tcp, &mut raw);
    parse_answers(&raw)
}

/// `exchange_with`, closing the client's side after the bytes.
pub fn exchange(base: &str, bytes: &[u8]) -> Vec<RawAnswer> {
    exchange_with(base, bytes, true)
}

pub fn parse_answers(mut raw: &[u8]) -> Vec<RawAnswer> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&raw[..end]).to_string();
        // What follows a chunked or unframed body is no answer of its own.
        let Some(status) = head.get(9..12).and_then(|s| s.parse().ok()) else {
            break;
        };
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().unwrap())
            })
            .unwrap_or(0);
        let body_end = (end + 4 + length).min(raw.len());
        let body = String::from_utf8_lossy(&raw[end + 4..body_end]).to_string();
        out.push(RawAnswer { status, head, body });
        raw = &raw[body_end..];
    }
    out
}
