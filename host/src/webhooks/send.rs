//! One HTTP POST per delivery attempt. An attempt succeeds on a 2xx answer only: any other
//! status, a redirect included (following one would send the body to a place nobody
//! configured), a connection failure or a timeout fails it.

use super::sign::signature;
use crate::store::webhooks::Delivery;
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use std::time::Duration;

/// Longest wait for a receiver to answer one attempt, the whole answer included.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait to connect to a receiver.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most of a receiver's answer that is read (so that its connection can be reused); the rest
/// is dropped unread.
const ANSWER_READ: usize = 64 * 1024;

#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
}

impl Sender {
    pub fn new() -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("scopegate-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Sender { client })
    }

    /// One attempt; the error says why it failed, without the URL (which may carry a
    /// receiver's own token in its query) and without the secret.
    pub async fn send(&self, d: &Delivery) -> Result<(), String> {
        let signature = signature(d.secret.as_bytes(), d.body.as_bytes())
            .ok_or_else(|| "the secret cannot key an HMAC".to_string())?;
        let header =
            |v: &str| HeaderValue::from_str(v).map_err(|_| format!("{v:?} is not a header value"));
        let mut answer = self
            .client
            .post(&d.url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("X-Scopegate-Event", header(d.event.as_str())?)
            .header("X-Scopegate-Delivery", header(&d.id)?)
            .header("X-Scopegate-Signature", header(&signature)?)
            .body(d.body.clone())
            .send()
            .await
            .map_err(describe)?;
        let status = answer.status();
        let mut read = 0;
        while read < ANSWER_READ {
            match answer.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                // An answer cut short after its status still says what the status says.
                Ok(None) | Err(_) => break,
            }
        }
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered {status}"))
        }
    }
}

/// The error and its causes, one after the other, without the URL.
fn describe(e: reqwest::Error) -> String {
    let timeout = e.is_timeout();
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if timeout {
        format!("timed out after {TIMEOUT:?} ({text})")
    } else {
        text
    }
}
