//! Webhooks as the admin API and the CLI manage them: what a definition must be, checked
//! before the store sees it. Sending is `crate::webhooks`.

use super::{check_slug, Action, Caller, Service};
use crate::clock;
use crate::error::{ApiError, NameKind, WebhookProblem};
use crate::store::webhooks::{Webhook, WebhookSpec};
use crate::store::{Entity, Page, PageRequest, WebhookEvent};

/// What `url` must match, for the API document; [`check_url`] is the same rule. A host name
/// whose last label starts with a letter, or a dotted IPv4 address, so that every URL it
/// admits is one an HTTP client parses; no user part, which would put a password in logs.
pub const URL_PATTERN: &str = concat!(
    r"^https?://(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])",
    r"(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}",
    r"|(?:[A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*)",
    r"(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?",
    r"(?:/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$"
);

/// Longest URL accepted.
pub const URL_MAX: usize = 2048;

/// What `secret` must match: 16-256 visible ASCII characters. Short keys make signatures
/// guessable; other characters would be spelt differently by the receiver's language.
pub const SECRET_PATTERN: &str = "^[!-~]{16,256}$";

fn is_octet(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 3
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s.len() == 1 || !s.starts_with('0'))
        && s.parse::<u16>().is_ok_and(|v| v <= 255)
}

fn is_host(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() == 4 && labels.iter().all(|l| is_octet(l)) {
        return true;
    }
    let label_ok =
        |l: &&str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    labels.iter().all(label_ok)
        && labels
            .last()
            .and_then(|l| l.bytes().next())
            .is_some_and(|b| b.is_ascii_alphabetic())
}

fn is_port(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 5
        && p.bytes().all(|b| b.is_ascii_digit())
        && !p.starts_with('0')
        && p.parse::<u32>().is_ok_and(|v| (1..=65_535).contains(&v))
}

/// [`URL_PATTERN`], by hand: the host has no regex engine.
pub fn check_url(url: &str) -> Result<(), ApiError> {
    let bad = Err(ApiError::InvalidWebhook(WebhookProblem::Url));
    if url.len() > URL_MAX {
        return bad;
    }
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return bad;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let path_ok = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._~!$&'()*+,;=:@%/?-".contains(&b));
    if is_host(host) && port.is_none_or(is_port) && path_ok {
        Ok(())
    } else {
        bad
    }
}

/// [`SECRET_PATTERN`].
pub fn check_secret(secret: &str) -> Result<(), ApiError> {
    if (16..=256).contains(&secret.len()) && secret.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(ApiError::InvalidWebhook(WebhookProblem::Secret))
    }
}

/// A webhook's definition as a request gives it.
pub struct WebhookRequest {
    pub url: String,
    pub secret: String,
    pub events: Vec<WebhookEvent>,
}

impl Service {
    /// Create or replace; `true` when created.
    pub fn put_webhook(
        &self,
        ws: &str,
        name: &str,
        req: &WebhookRequest,
        caller: &Caller,
    ) -> Result<(Webhook, bool), ApiError> {
        caller.may(Action::ManageWebhooks, Some(ws))?;
        check_slug(ws, NameKind::Workspace)?;
        check_slug(name, NameKind::Webhook)?;
        check_url(&req.url)?;
        check_secret(&req.secret)?;
        if req.events.is_empty() {
            return Err(ApiError::InvalidWebhook(WebhookProblem::NoEvents));
        }
        let spec = WebhookSpec {
            url: &req.url,
            secret: &req.secret,
            events: &req.events,
        };
        let out = self
            .store
            .put_webhook(ws, name, &spec, clock::now(), &caller.actor)?;
        tracing::info!(workspace = %out.0.workspace, webhook = %out.0.name, "webhook put");
        Ok(out)
    }

    pub fn get_webhook(&self, ws: &str, name: &str, caller: &Caller) -> Result<Webhook, ApiError> {
        caller.may(Action::Read, Some(ws))?;
        self.store
            .get_webhook(ws, name)?
            .ok_or(ApiError::NotFound(Entity::Webhook))
    }

    /// The workspace's webhooks; NotFound for an unknown workspace (not an empty list).
    pub fn list_webhooks(
        &self,
        ws: &str,
        page: &PageRequest,
        caller: &Caller,
    ) -> Result<Page<Webhook>, ApiError> {
        caller.may(Action::Read, Some(ws))?;
        self.store
            .get_workspace(ws)?
            .ok_or(ApiError::NotFound(Entity::Workspace))?;
        Ok(self.store.list_webhooks(ws, page)?)
    }

    pub fn delete_webhook(&self, ws: &str, name: &str, caller: &Caller) -> Result<(), ApiError> {
        caller.may(Action::ManageWebhooks, Some(ws))?;
        self.store
            .delete_webhook(ws, name, clock::now(), &caller.actor)?;
        tracing::info!(workspace = %ws, webhook = %name, "webhook deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written rules and the patterns the document states agree, both ways.
    #[test]
    fn url_and_secret_rules_are_their_patterns() {
        let url = regex::Regex::new(URL_PATTERN).unwrap();
        for s in [
            "http://127.0.0.1:8080/hook",
            "https://hooks.example.com/a/b?x=1&y=%20",
            "https://localhost",
            "http://a-b.c-d.io:65535/",
            "http://0.0.0.0:1",
            "http://x1.y:99999",
            "http://1.2.3.256/",
            "http://1.2.3/",
            "http://a..b/",
            "http://.a/",
            "http://a./",
            "http://a.1b/",
            "http://a:0/",
            "http://a:080/",
            "http://a:/",
            "http://a:65536",
            "http://a?x",
            "http://a/#frag",
            "http://user:pw@a/",
            "http://a/ b",
            "ftp://a/",
            "HTTP://a/",
            "https://",
            "http://01.2.3.4/",
            "http://255.255.255.255/ok",
            "http://a/é",
            "",
        ] {
            assert_eq!(check_url(s).is_ok(), url.is_match(s), "{s}");
        }
        let secret = regex::Regex::new(SECRET_PATTERN).unwrap();
        for s in [
            "0123456789abcdef",
            "0123456789abcde",
            &"x".repeat(256),
            &"x".repeat(257),
            "0123456789 abcdef",
            "0123456789abcdeé",
            "!\"#$%&'()*+,-./~",
        ] {
            assert_eq!(check_secret(s).is_ok(), secret.is_match(s), "{s}");
        }
    }
}
