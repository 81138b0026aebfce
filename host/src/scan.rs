//! Finding leaked secrets in files and in a git repository's history (SPEC §12, `scopegate
//! scan`). What a secret looks like is the module's to say (`sg_scan`): this module only reads
//! bytes, hands them to the module a window at a time and turns offsets into locations.
//!
//! A file is read in windows of a few MB, so that a large file costs neither its size in memory
//! nor one call past the module's deadline. Consecutive windows overlap by a secret's length and
//! one byte: a finding is taken from the window that holds it whole with a byte of context on
//! each side (the module refuses a secret that touches a word character), so a secret across a
//! boundary is found once, and a lookalike that continues past a boundary is not found at all.

use crate::runtime::{CallError, Found, SecretKind};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Bytes handed to the module in one call: big enough that the per-call cost vanishes, small
/// enough to stay well inside an instance's memory cap and its deadline.
pub const WINDOW: usize = 4 << 20;

/// One secret found, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// `path:line`, or with `--git` `commit:path:line`.
    pub location: String,
    /// The whole secret: for the store lookup by its hash, never to be printed whole.
    pub secret: String,
    pub kind: SecretKind,
}

/// Why a scan failed, with a stable code.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot read {path}: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} is not a git repository")]
    NotGitRepository(String),
    #[error("git failed on {path}: {message}")]
    Git { path: String, message: String },
    #[error("the policy module failed on {path}: {source}")]
    Module { path: String, source: CallError },
    #[error("the policy module cannot be loaded: {0}")]
    Policy(String),
    #[error("the store: {0}")]
    Store(#[from] crate::error::ApiError),
    #[error("--revoke needs a store, and {0} does not exist")]
    NoStore(String),
}

impl ScanError {
    /// What a user reads: a store's failure in the store's words for users, which name no
    /// connection details.
    pub fn message(&self) -> String {
        match self {
            ScanError::Store(e) => e.message(),
            other => other.to_string(),
        }
    }

    pub fn code(&self) -> &str {
        match self {
            ScanError::Policy(_) => "policy_unavailable",
            ScanError::Store(e) => e.code(),
            ScanError::NoStore(_) => "no_store",
            ScanError::Unreadable { .. } => "unreadable_path",
            ScanError::NotGitRepository(_) => "not_a_git_repository",
            ScanError::Git { .. } => "git_failed",
            ScanError::Module { .. } => "policy_failure",
        }
    }
}

/// Where a stream's read or its scan failed; the caller names the path.
#[derive(Debug)]
enum StreamError {
    Read(std::io::Error),
    Module(CallError),
}

impl StreamError {
    fn at(self, path: &str) -> ScanError {
        match self {
            StreamError::Read(source) => ScanError::Unreadable {
                path: path.to_string(),
                source,
            },
            StreamError::Module(source) => ScanError::Module {
                path: path.to_string(),
                source,
            },
        }
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Reads until `buf` holds `want` bytes or the stream ends; whether it ended.
fn fill(reader: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    while buf.len() < want {
        let start = buf.len();
        buf.resize(want, 0);
        match reader.read(&mut buf[start..]) {
            Ok(0) => {
                buf.truncate(start);
                return Ok(true);
            }
            Ok(n) => buf.truncate(start + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(start),
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        }
    }
    Ok(false)
}

/// Every secret in `reader`, found by `find` over windows of `window` bytes, as `(line, the
/// secret's bytes, its kind)` in order.
fn scan_stream(
    mut reader: impl Read,
    window: usize,
    secret_len: usize,
    find: &mut Find<'_>,
    found: &mut dyn FnMut(u64, &[u8], SecretKind),
) -> Result<(), StreamError> {
    // What the next window keeps of this one: room for a secret that did not end inside it,
    // with the byte before it.
    let keep = secret_len + 1;
    let window = window.max(2 * keep);
    let mut buf = Vec::with_capacity(window);
    // Whether `buf[0]` is the stream's first byte (and so has no byte before it).
    let mut at_start = true;
    // The line `buf[0]` is on.
    let mut line = 1;
    loop {
        let ended = fill(&mut reader, &mut buf, window).map_err(StreamError::Read)?;
        let mut counted = 0;
        let mut counted_line = line;
        for hit in find(&buf).map_err(StreamError::Module)? {
            let at = hit.offset;
            // At 0 in a later window: the window before held it with its context, and took it.
            let taken_before = at == 0 && !at_start;
            // Ending at the window's last byte: the byte after it is unknown until the next.
            let undecided = !ended && at + secret_len >= buf.len();
            let Some(secret) = buf.get(at..at + secret_len) else {
                continue;
            };
            if taken_before || undecided || at < counted {
                continue;
            }
            counted_line += newlines(&buf[counted..at]);
            counted = at;
            found(counted_line, secret, hit.kind);
        }
        if ended {
            return Ok(());
        }
        let cut = buf.len() - keep;
        line += newlines(&buf[..cut]);
        buf.drain(..cut);
        at_start = false;
    }
}

/// What finds the secrets in a window: the module, or in unit tests the native core.
type Find<'a> = dyn FnMut(&[u8]) -> Result<Vec<Found>, CallError> + 'a;

/// The module as `scan_stream` calls it, and the length of a secret it states.
fn module_finder(policy: &crate::runtime::Policy) -> Result<(Box<Find<'_>>, usize), ScanError> {
    let secret_len = policy
        .secret_len()
        .ok_or_else(|| ScanError::Policy("the module has no sg_scan".into()))?;
    Ok((Box::new(move |bytes: &[u8]| policy.scan(bytes)), secret_len))
}

/// Scans the files under `paths` (a file, or a directory walked in name order, without `.git`
/// directories and without following symbolic links, so that a link cannot lead the scan out
/// of the tree or round in a loop). Every hit goes to `hit`, every path that could not be read
/// to `error`, and the scan goes on.
pub fn scan_paths(
    policy: &crate::runtime::Policy,
    paths: &[PathBuf],
    hit: &mut dyn FnMut(Hit),
    error: &mut dyn FnMut(ScanError),
) {
    let (mut find, secret_len) = match module_finder(policy) {
        Ok(finder) => finder,
        Err(e) => return error(e),
    };
    for root in paths {
        // The roots themselves are followed when they are links: the caller named them.
        let mut pending = vec![root.clone()];
        while let Some(path) = pending.pop() {
            let shown = shown(&path);
            let meta = if &path == root {
                std::fs::metadata(&path)
            } else {
                std::fs::symlink_metadata(&path)
            };
            let meta = match meta {
                Ok(meta) => meta,
                Err(source) => {
                    error(ScanError::Unreadable {
                        path: shown,
                        source,
                    });
                    continue;
                }
            };
            if meta.is_dir() {
                if &path != root && path.file_name().is_some_and(|n| n == ".git") {
                    continue;
                }
                match sorted_entries(&path) {
                    // Reversed onto the stack, so that they come off in name order.
                    Ok(entries) => pending.extend(entries.into_iter().rev()),
                    Err(source) => error(ScanError::Unreadable {
                        path: shown,
                        source,
                    }),
                }
            } else if meta.is_file() {
                let result = std::fs::File::open(&path)
                    .map_err(StreamError::Read)
                    .and_then(|file| {
                        scan_stream(
                            file,
                            WINDOW,
                            secret_len,
                            &mut *find,
                            &mut |line, s, kind| {
                                hit(Hit {
                                    location: format!("{shown}:{line}"),
                                    secret: String::from_utf8_lossy(s).into_owned(),
                                    kind,
                                })
                            },
                        )
                    });
                if let Err(e) = result {
                    error(e.at(&shown));
                }
            }
            // Symbolic links, sockets, devices and pipes are not files of the tree.
        }
    }
}

fn sorted_entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut entries = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()?;
    entries.sort();
    Ok(entries)
}

/// A path as a finding names it: without the `./` that walking `.` puts in front.
fn shown(path: &Path) -> String {
    let path = path.strip_prefix(".").unwrap_or(path);
    path.display().to_string()
}

fn git(repo: &Path, args: &[&str]) -> Result<Vec<u8>, ScanError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ScanError::Git {
            path: repo.display().to_string(),
            message: format!("cannot run git: {e}"),
        })?;
    if !out.status.success() {
        return Err(ScanError::Git {
            path: repo.display().to_string(),
            message: format!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(out.stdout)
}

/// Scans every blob of the history of the repository at `repo` (every commit reachable from
/// any ref, oldest first by commit date), each blob once. A secret is reported once, at the first commit,
/// path and line it was found in: a token added and later removed is found at the commit that
/// added it, and one on several branches is one finding, not one per commit.
pub fn scan_git(
    policy: &crate::runtime::Policy,
    repo: &Path,
    hit: &mut dyn FnMut(Hit),
) -> Result<(), ScanError> {
    let shown_repo = repo.display().to_string();
    let is_repo = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "--git-dir"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match is_repo {
        Ok(status) if status.success() => {}
        Ok(_) => return Err(ScanError::NotGitRepository(shown_repo)),
        Err(e) => {
            return Err(ScanError::Git {
                path: shown_repo,
                message: format!("cannot run git: {e}"),
            })
        }
    }
    // By commit date, parents first: the first commit a secret is found in is where it came in.
    let commits = git(repo, &["rev-list", "--all", "--reverse", "--date-order"])?;
    let mut blobs = Blobs::start(repo)?;
    let (mut find, secret_len) = module_finder(policy)?;
    let mut seen_blobs: HashSet<Vec<u8>> = HashSet::new();
    let mut seen_secrets: HashSet<Vec<u8>> = HashSet::new();
    for commit in commits.split(|&b| b == b'\n').filter(|c| !c.is_empty()) {
        let commit = String::from_utf8_lossy(commit).into_owned();
        let tree = git(repo, &["ls-tree", "-r", "-z", "--full-tree", &commit])?;
        for entry in tree.split(|&b| b == 0).filter(|e| !e.is_empty()) {
            // `<mode> SP <type> SP <object> TAB <path>`; submodules are commits, not blobs.
            let Some(tab) = entry.iter().position(|&b| b == b'\t') else {
                continue;
            };
            let (meta, path) = (&entry[..tab], &entry[tab + 1..]);
            let mut fields = meta.split(|&b| b == b' ');
            let (Some(_mode), Some(b"blob"), Some(object)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if !seen_blobs.insert(object.to_vec()) {
                continue;
            }
            let path = String::from_utf8_lossy(path);
            let at = format!("{commit}:{path}");
            blobs
                .scan(object, &mut |reader| {
                    scan_stream(
                        reader,
                        WINDOW,
                        secret_len,
                        &mut *find,
                        &mut |line, s, kind| {
                            if seen_secrets.insert(s.to_vec()) {
                                hit(Hit {
                                    location: format!("{at}:{line}"),
                                    secret: String::from_utf8_lossy(s).into_owned(),
                                    kind,
                                });
                            }
                        },
                    )
                })
                .map_err(|e| e.at(&at))?;
        }
    }
    blobs.finish();
    Ok(())
}

/// One `git cat-file --batch` for the whole scan: one process, not one per blob, and packed
/// objects are read like loose ones.
struct Blobs {
    child: std::process::Child,
    input: std::process::ChildStdin,
    output: BufReader<std::process::ChildStdout>,
}

impl Blobs {
    fn start(repo: &Path) -> Result<Blobs, ScanError> {
        let failed = |message: String| ScanError::Git {
            path: repo.display().to_string(),
            message,
        };
        let mut child = Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| failed(format!("cannot run git cat-file: {e}")))?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(failed("git cat-file has no pipes".into()));
        };
        Ok(Blobs {
            child,
            input,
            output: BufReader::with_capacity(1 << 20, output),
        })
    }

    /// Hands the blob `object` to `read` as a stream of exactly its bytes.
    fn scan(
        &mut self,
        object: &[u8],
        read: &mut dyn FnMut(&mut dyn Read) -> Result<(), StreamError>,
    ) -> Result<(), StreamError> {
        let io = StreamError::Read;
        self.input
            .write_all(&[object, b"\n"].concat())
            .and_then(|()| self.input.flush())
            .map_err(io)?;
        let mut header = Vec::new();
        self.output.read_until(b'\n', &mut header).map_err(io)?;
        // `<object> blob <size>`, or `<object> missing`.
        let size = std::str::from_utf8(&header)
            .ok()
            .and_then(|h| h.trim_end().rsplit(' ').next())
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| {
                io(std::io::Error::other(format!(
                    "git cat-file answered {:?}",
                    String::from_utf8_lossy(&header).trim_end()
                )))
            })?;
        let mut blob = (&mut self.output).take(size);
        read(&mut blob)?;
        // Whatever `read` left of the blob, and the newline after it.
        std::io::copy(&mut blob, &mut std::io::sink()).map_err(io)?;
        let mut newline = [0u8; 1];
        self.output.read_exact(&mut newline).map_err(io)?;
        Ok(())
    }

    fn finish(mut self) {
        drop(self.input);
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scopegate_core::token::{scan, seal, SecretKind as CoreKind, SECRET_LEN};

    fn native(bytes: &[u8]) -> Result<Vec<Found>, CallError> {
        Ok(scan(bytes)
            .into_iter()
            .map(|f| Found {
                offset: f.offset,
                kind: match f.kind {
                    CoreKind::AccessToken => SecretKind::AccessToken,
                    CoreKind::AdminCredential => SecretKind::AdminCredential,
                },
            })
            .collect())
    }

    fn lines_of(bytes: &[u8], window: usize) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        scan_stream(bytes, window, SECRET_LEN, &mut native, &mut |line, s, _| {
            out.push((line, String::from_utf8_lossy(s).into_owned()))
        })
        .unwrap();
        out
    }

    /// Every placement of a secret around window boundaries, in windows far smaller than a
    /// real one, gives what one call over the whole text gives: each secret once, on its line,
    /// and a lookalike that runs on past a boundary never.
    #[test]
    fn windows_find_what_the_whole_text_holds() {
        let (token, _) = seal(CoreKind::AccessToken, &"a".repeat(40)).unwrap();
        let (key, _) = seal(CoreKind::AdminCredential, &"B".repeat(40)).unwrap();
        let window = 2 * (SECRET_LEN + 1) + 17;
        for gap in 0..3 * window {
            for glue in ["", "x", "\n"] {
                let text = format!("{}{glue}{token}\n{key} {token}x\n", "-\n".repeat(gap));
                let expected: Vec<(u64, String)> = {
                    let whole = native(text.as_bytes()).unwrap();
                    whole
                        .iter()
                        .map(|f| {
                            let before = &text.as_bytes()[..f.offset];
                            (
                                newlines(before) + 1,
                                text[f.offset..f.offset + SECRET_LEN].to_string(),
                            )
                        })
                        .collect()
                };
                assert_eq!(lines_of(text.as_bytes(), window), expected, "gap {gap}");
                let expected_count = if glue == "x" { 1 } else { 2 };
                assert_eq!(expected.len(), expected_count, "gap {gap} glue {glue:?}");
            }
        }
    }

    #[test]
    fn paths_are_shown_without_a_leading_dot() {
        assert_eq!(shown(Path::new("./src/a.rs")), "src/a.rs");
        assert_eq!(shown(Path::new("src/a.rs")), "src/a.rs");
        assert_eq!(shown(Path::new("/tmp/x")), "/tmp/x");
    }
}
