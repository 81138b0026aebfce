//! `/check` answers only 200, 401 or 403 (§9), even for a request the HTTP layer refuses.
//!
//! hyper answers a request head it cannot parse (a malformed header, a request line it rejects,
//! more than 100 headers, a head larger than its buffer) with a bare 400 or 431 before any
//! handler runs. So each connection's bytes pass through `Guarded`, which follows the request
//! framing, judges each head with the parser hyper uses (`httparse`, in the same configuration)
//! and by /check's own size limit, and answers a bad head aimed at `/check` itself with 403
//! `bad_input` and /check's usual body, after the answers to the requests before it. A bad head
//! aimed elsewhere is left to hyper, and so is everything after it.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// The largest head (request line and headers) a check may have. Fronts forward a check with a
/// few short headers; nginx's own default limit for a client's headers is 32 KiB.
pub const MAX_CHECK_HEAD: usize = 64 * 1024;
/// As many headers as hyper takes; one more is its 431.
pub const MAX_HEADERS: usize = 100;

const REFUSAL_MESSAGE: &str =
    "the check request's head cannot be read: a malformed line, more than 100 headers or more than 64 KiB";

/// The 403 a bad check head is answered with, in /check's shape.
fn refusal() -> Vec<u8> {
    let body = serde_json::json!({"type": "error", "error": {"message": REFUSAL_MESSAGE,
        "detail": {"reason": "bad_input", "required": [], "granted": []}}})
    .to_string();
    format!(
        "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A connection whose request heads are judged before hyper reads them.
pub struct Guarded {
    /// Taken by `Drop` when a refusal is still to be written.
    tcp: Option<TcpStream>,
    framing: Framing,
    /// Set once a bad check head is found: hyper is given nothing more, and this is written
    /// when it is done with the connection.
    refused: bool,
}

impl Guarded {
    pub fn new(tcp: TcpStream) -> Guarded {
        Guarded {
            tcp: Some(tcp),
            framing: Framing::Head(Vec::new()),
            refused: false,
        }
    }

    fn tcp(&mut self) -> io::Result<&mut TcpStream> {
        self.tcp
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.refused {
            // The end of the stream, as hyper sees it: it finishes what it has and lets go.
            return Poll::Ready(Ok(()));
        }
        let start = buf.filled().len();
        std::task::ready!(Pin::new(self.tcp()?).poll_read(cx, buf))?;
        let end = buf.filled().len();
        if let Verdict::Refuse { keep } = self.framing.feed(&buf.filled()[start..end]) {
            // hyper gets the bytes before the bad head; the head itself it never sees whole.
            buf.set_filled(start + keep);
            self.refused = true;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.tcp()?).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.tcp()?).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.as_ref().is_some_and(|t| t.is_write_vectored())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.tcp()?).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.refused {
            // The refusal still has to go out on this stream; `Drop` sends it and closes.
            return Poll::Ready(Ok(()));
        }
        Pin::new(self.tcp()?).poll_shutdown(cx)
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        let (true, Some(mut tcp)) = (self.refused, self.tcp.take()) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let _ = tcp.write_all(&refusal()).await;
            let _ = tcp.shutdown().await;
            // Read what the client is still sending for a while: closing a socket with unread
            // data resets the connection, and the client may lose the answer with it.
            let drain = async {
                let mut sink = [0u8; 4096];
                while let Ok(n) = tokio::io::AsyncReadExt::read(&mut tcp, &mut sink).await {
                    if n == 0 {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drain).await;
        });
    }
}

/// What a stretch of incoming bytes means for hyper.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Pass,
    /// A bad check head starts `keep` bytes into the stretch.
    Refuse {
        keep: usize,
    },
}

/// Where the incoming stream is in the request framing.
#[derive(Debug)]
enum Framing {
    /// A head, gathered so far.
    Head(Vec<u8>),
    /// So many bytes of a body with a `Content-Length` left.
    Body(u64),
    Chunked(Chunk),
    /// Not followed any further: a bad head hyper answers itself, or framing this does not
    /// read as hyper does. hyper sees everything unchanged.
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// The hex size of the next chunk; `Ext` after `;` until the line ends.
    Size(u64, bool),
    Data(u64),
    /// The line end after a chunk's data.
    DataEnd,
    /// Trailer lines after the last chunk; `true` at the start of a line.
    Trailer(bool),
}

impl Framing {
    fn feed(&mut self, mut data: &[u8]) -> Verdict {
        let total = data.len();
        while !data.is_empty() {
            let offset = total - data.len();
            match self {
                Framing::Off => return Verdict::Pass,
                Framing::Body(left) => {
                    let n = (*left).min(data.len() as u64);
                    *left -= n;
                    data = &data[n as usize..];
                    if *left == 0 {
                        *self = Framing::Head(Vec::new());
                    }
                }
                Framing::Chunked(state) => match step_chunked(state, data) {
                    Some((used, done)) => {
                        data = &data[used..];
                        if done {
                            *self = Framing::Head(Vec::new());
                        }
                    }
                    None => *self = Framing::Off,
                },
                Framing::Head(head) => {
                    let started = head.len();
                    head.extend_from_slice(data);
                    match judge(head) {
                        Head::Partial => return Verdict::Pass,
                        Head::Complete { len, next } => {
                            data = &data[len - started..];
                            *self = next;
                        }
                        Head::Bad { check: true } => {
                            // A head begun in an earlier stretch is already partly hyper's.
                            let keep = if started > 0 { 0 } else { offset };
                            return Verdict::Refuse { keep };
                        }
                        Head::Bad { check: false } => *self = Framing::Off,
                    }
                }
            }
        }
        Verdict::Pass
    }
}

enum Head {
    Partial,
    Complete { len: usize, next: Framing },
    Bad { check: bool },
}

/// Judges the head gathered so far as hyper will.
fn judge(head: &[u8]) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let parsed = req.parse(head);
    let check = is_check(req.path.map(str::as_bytes).or_else(|| request_target(head)));
    match parsed {
        Ok(httparse::Status::Partial) if head.len() <= MAX_CHECK_HEAD => Head::Partial,
        Ok(httparse::Status::Partial) => Head::Bad { check },
        Err(_) => Head::Bad { check },
        Ok(httparse::Status::Complete(len)) => {
            if check && len > MAX_CHECK_HEAD {
                return Head::Bad { check };
            }
            match body(req.headers) {
                Some(next) => Head::Complete { len, next },
                // hyper refuses such framing headers with a 400 too.
                None => Head::Bad { check },
            }
        }
    }
}

/// The request target of a head whose request line is complete, even if the rest is not.
fn request_target(head: &[u8]) -> Option<&[u8]> {
    let line = head.split(|&b| b == b'\n').next()?;
    let mut words = line.split(|&b| b == b' ');
    words.next()?;
    words.next()
}

/// Whether a request target names `/check`, in origin form or absolute form.
fn is_check(target: Option<&[u8]>) -> bool {
    let Some(mut target) = target else {
        return false;
    };
    if let Some(at) = target.windows(3).position(|w| w == b"://") {
        let rest = &target[at + 3..];
        target = &rest[rest.iter().position(|&b| b == b'/').unwrap_or(rest.len())..];
    }
    let path = target.split(|&b| b == b'?').next().unwrap_or(target);
    path == b"/check"
}

/// How the body after a head is framed (RFC 9112 §6.3 for requests); `None` for framing
/// headers hyper refuses: a Transfer-Encoding not ending in chunked, one beside a
/// Content-Length, or Content-Lengths that are not one number.
fn body(headers: &[httparse::Header<'_>]) -> Option<Framing> {
    let mut length: Option<u64> = None;
    let mut chunked = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            let last = h.value.rsplit(|&b| b == b',').next().unwrap_or(h.value);
            chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let n: u64 = std::str::from_utf8(h.value).ok()?.trim().parse().ok()?;
            if length.is_some_and(|l| l != n) {
                return None;
            }
            length = Some(n);
        }
    }
    match (chunked, length) {
        (Some(true), None) => Some(Framing::Chunked(Chunk::Size(0, false))),
        (Some(_), _) => None,
        (None, Some(n)) if n > 0 => Some(Framing::Body(n)),
        (None, _) => Some(Framing::Head(Vec::new())),
    }
}

/// Follows a chunked body through `data`: the bytes used, and whether the body ended; `None`
/// for what hyper would not read as chunked either.
fn step_chunked(state: &mut Chunk, data: &[u8]) -> Option<(usize, bool)> {
    let mut used = 0;
    while used < data.len() {
        let b = data[used];
        match *state {
            Chunk::Size(size, ext) => {
                *state = match (b, ext) {
                    (b'\n', _) if size == 0 => Chunk::Trailer(true),
                    (b'\n', _) => Chunk::Data(size),
                    (b'\r', _) | (_, true) => Chunk::Size(size, ext),
                    (b';', false) => Chunk::Size(size, true),
                    _ => {
                        let digit = (b as char).to_digit(16)?;
                        Chunk::Size(size.checked_mul(16)?.checked_add(digit.into())?, false)
                    }
                };
                used += 1;
            }
            Chunk::Data(left) => {
                let n = left.min((data.len() - used) as u64);
                used += n as usize;
                *state = if left == n {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(left - n)
                };
            }
            Chunk::DataEnd => {
                match b {
                    b'\r' => {}
                    b'\n' => *state = Chunk::Size(0, false),
                    _ => return None,
                }
                used += 1;
            }
            Chunk::Trailer(line_start) => {
                used += 1;
                match (b, line_start) {
                    (b'\n', true) => return Some((used, true)),
                    (b'\n', false) => *state = Chunk::Trailer(true),
                    (b'\r', _) => {}
                    _ => *state = Chunk::Trailer(false),
                }
            }
        }
    }
    Some((used, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(parts: &[&[u8]]) -> Vec<Verdict> {
        let mut f = Framing::Head(Vec::new());
        parts.iter().map(|p| f.feed(p)).collect()
    }

    const CHECK: &[u8] = b"GET /check HTTP/1.1\r\nHost: x\r\nX-Original-URI: /a\r\n\r\n";

    #[test]
    fn good_requests_pass_in_any_pieces() {
        let post = b"POST /admin/v1/x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
        let chunked = b"POST /admin/v1/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n";
        let stream = [CHECK, post, chunked, CHECK].concat();
        for cut in 1..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(
                feed_all(&[a, b]),
                [Verdict::Pass, Verdict::Pass],
                "cut {cut}"
            );
        }
        // After all of them the framing waits for the next head.
        let mut f = Framing::Head(Vec::new());
        assert_eq!(f.feed(&stream), Verdict::Pass);
        assert!(matches!(f, Framing::Head(ref h) if h.is_empty()), "{f:?}");
    }

    #[test]
    fn a_bad_check_head_is_refused_where_it_starts() {
        let bad = b"GET /check HTTP/1.1\r\nX Original: a\r\n\r\n";
        let stream = [CHECK, bad].concat();
        assert_eq!(
            feed_all(&[&stream]),
            [Verdict::Refuse { keep: CHECK.len() }]
        );
        // Spread over reads: the stretch holding its first bytes is kept up to them.
        let (a, b) = stream.split_at(CHECK.len() + 4);
        assert_eq!(
            feed_all(&[a, b]),
            [Verdict::Pass, Verdict::Refuse { keep: 0 }]
        );
    }

    #[test]
    fn what_hyper_refuses_is_refused_for_checks_only() {
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: v\r\n")).collect();
        let big = format!("X-Big: {}\r\n", "a".repeat(MAX_CHECK_HEAD));
        for extra in [
            "X-A: \u{1}\r\n".to_string(),
            " folded\r\n".to_string(),
            many,
            big,
            "Content-Length: 1\r\nContent-Length: 2\r\n".into(),
            "Transfer-Encoding: gzip\r\n".into(),
        ] {
            for (target, refused) in [
                ("/check", true),
                ("/check?x=1", true),
                ("/admin/v1/x", false),
            ] {
                let head = format!("GET {target} HTTP/1.1\r\nHost: x\r\n{extra}\r\n");
                let verdict = feed_all(&[head.as_bytes()]);
                let expect = if refused {
                    Verdict::Refuse { keep: 0 }
                } else {
                    Verdict::Pass
                };
                assert_eq!(
                    verdict,
                    [expect],
                    "{target} {:?}",
                    &extra[..extra.len().min(30)]
                );
            }
        }
    }

    #[test]
    fn check_targets_in_every_form() {
        for (target, check) in [
            ("/check", true),
            ("/check?a=b", true),
            ("http://scopegate/check", true),
            ("http://scopegate/check?x", true),
            ("/checks", false),
            ("/check/x", false),
            ("/", false),
            ("*", false),
        ] {
            assert_eq!(is_check(Some(target.as_bytes())), check, "{target}");
        }
        // Blank lines between requests, which hyper skips, are no head of their own.
        let stream = [CHECK, b"\r\n", CHECK].concat();
        assert_eq!(feed_all(&[&stream]), [Verdict::Pass]);
    }

    #[test]
    fn an_oversized_check_head_is_refused_before_it_ends() {
        let start = format!(
            "GET /check HTTP/1.1\r\nX-Big: {}",
            "a".repeat(MAX_CHECK_HEAD)
        );
        assert_eq!(feed_all(&[start.as_bytes()]), [Verdict::Refuse { keep: 0 }]);
    }
}
