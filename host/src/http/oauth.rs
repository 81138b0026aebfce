//! The standard token endpoints and the leak report of SPEC §12, beside the admin API: `POST
//! /oauth/revoke` (RFC 7009), `POST /oauth/introspect` (RFC 7662) and `POST /leaks`.
//!
//! None of them tells an unauthenticated caller whether a string was a token: revocation
//! answers 200 with nothing for any `token`, and a leak report answers with the count of
//! strings it received, before it looks any of them up.

use super::{blocking, App};
use crate::error::ApiError;
use crate::service::{Action, REPORTS_PER_WINDOW, REPORT_WINDOW_SECS};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use utoipa::ToSchema;

/// The tag of these operations in the document.
const OAUTH: &str = "oauth";

/// Largest leak report (SPEC §12).
pub const MAX_REPORT: usize = 1024 * 1024;
/// Most strings one leak report may hold.
pub const MAX_REPORTED: usize = 1000;
/// How long after its answer a report's tokens are looked up and revoked: long enough for the
/// answer to be out, short against the goal of a dead token everywhere within a second.
const REVOCATION_DELAY: std::time::Duration = std::time::Duration::from_millis(100);

/// RFC 6749 §5.2's error body, which OAuth clients read.
#[derive(Serialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_request`: the `token` parameter is missing or given twice.
    pub error: String,
}

fn invalid_request() -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CACHE_CONTROL, "no-store")],
        Json(OAuthError {
            error: "invalid_request".into(),
        }),
    )
        .into_response()
}

/// The one `token` parameter of a form body; `None` when it is missing, given twice, or the
/// body is not a form (RFC 6749 §3.2: a parameter must not be included more than once).
fn token_param(body: &[u8]) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    let mut tokens = pairs
        .into_iter()
        .filter(|(k, _)| k == "token")
        .map(|(_, v)| v);
    let token = tokens.next()?;
    tokens.next().is_none().then_some(token)
}

/// The RFC 7009 form body (documented; read by `token_param`).
#[derive(Deserialize, ToSchema)]
pub struct RevokeForm {
    /// The secret to revoke.
    pub token: String,
    /// `access_token` or `refresh_token`; read and ignored (there is one kind here).
    pub token_type_hint: Option<String>,
}

/// Revoke a token by presenting it (RFC 7009). Presenting the secret is the authorization.
///
/// Answers 200 with an empty body for any `token`, whether or not it names a token.
#[utoipa::path(post, path = "/oauth/revoke", tag = OAUTH,
    request_body(content = RevokeForm, content_type = "application/x-www-form-urlencoded"),
    security(()),
    responses((status = 200, description = "revoked if it was an active token; nothing else is said"),
              (status = 400, description = "no `token` parameter, or two", body = OAuthError),
              (status = 503, description = "the store is unreachable: nothing was revoked; retry", body = super::views::ErrorView)))]
pub async fn revoke(State(app): State<App>, body: Bytes) -> Response {
    let Some(secret) = token_param(&body) else {
        return invalid_request();
    };
    match blocking(&app, move |s| s.revoke_presented(&secret)).await {
        Ok(()) => StatusCode::OK.into_response(),
        // The store failed: the token may still be live, and the client must be able to tell
        // and retry (RFC 7009 §2.2.1: 503 for a temporary failure).
        Err(e) => e.into_response(),
    }
}

/// The RFC 7662 form body.
#[derive(Deserialize, ToSchema)]
pub struct IntrospectForm {
    /// The secret to describe.
    pub token: String,
    /// Read and ignored.
    pub token_type_hint: Option<String>,
}

/// RFC 7662's answer: an active token's description, or exactly `{"active": false}`.
#[derive(Serialize, ToSchema)]
pub struct Introspection {
    pub active: bool,
    /// The effective scopes, sorted, separated by spaces.
    pub scope: Option<String>,
    /// The token's id.
    pub client_id: Option<String>,
    /// `access_token`.
    pub token_type: Option<String>,
    /// `<kind>:<workspace>` or `<kind>:<workspace>/<project or repository>`.
    pub sub: Option<String>,
    /// `repo_access_token`, `project_access_token` or `workspace_access_token`.
    pub credential_type: Option<String>,
    /// Created, Unix seconds.
    pub iat: Option<i64>,
    /// Expires, Unix seconds; absent when it never expires.
    pub exp: Option<i64>,
}

/// Describe a token (RFC 7662), for a credential with the role `introspect` or `owner`.
#[utoipa::path(post, path = "/oauth/introspect", tag = OAUTH,
    request_body(content = IntrospectForm, content_type = "application/x-www-form-urlencoded"),
    security(("admin_key" = [])),
    responses((status = 200, description = "the description; `{\"active\": false}` for anything but an active token", body = Introspection),
              (status = 400, description = "no `token` parameter, or two", body = OAuthError),
              (status = 401, description = "no valid credential", body = super::views::ErrorView),
              (status = 403, description = "the credential may not introspect", body = super::views::ErrorView)))]
pub async fn introspect(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(presented) = super::admin::bearer(&headers) else {
        return ApiError::AdminKeyMissing.into_response();
    };
    let secret = token_param(&body);
    let out = blocking(&app, move |s| {
        let caller = s.authenticate(&presented)?;
        caller.may(Action::Introspect, None)?;
        match secret {
            Some(secret) => s.introspect(&secret, &caller).map(Some),
            None => Ok(None),
        }
    })
    .await;
    match out {
        Ok(Some(answer)) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            answer,
        )
            .into_response(),
        Ok(None) => invalid_request(),
        Err(e) => e.into_response(),
    }
}

/// `POST /leaks`: strings someone found and believes are scopegate secrets.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeakReport {
    /// 1–1000 strings.
    #[schema(min_items = 1, max_items = 1000)]
    pub tokens: Vec<String>,
}

/// What a leak report is answered with: how many strings arrived, never which were tokens.
#[derive(Serialize, ToSchema)]
pub struct LeakReceipt {
    pub received: usize,
}

/// The client a report counts against: the TCP peer, or, when the peer is this machine (a
/// front on the same host), the first address of `X-Forwarded-For` it set. A remote caller's
/// own forwarding header is not believed: it could name any address.
fn reporter(peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    let peer = peer.ip();
    if !peer.is_loopback() {
        return peer;
    }
    crate::service::usage::client_address(
        headers.get("x-forwarded-for").map(HeaderValue::as_bytes),
        headers.get("x-real-ip").map(HeaderValue::as_bytes),
    )
    .unwrap_or(peer)
}

/// Report leaked secrets; every active token among them is revoked. No credential.
///
/// Answered before any string is looked up, with the count only, so neither the answer nor its
/// time says which strings were tokens; the revocations follow within the second.
#[utoipa::path(post, path = "/leaks", tag = OAUTH, request_body = LeakReport,
    security(()),
    responses((status = 202, description = "received; every active token among them is being revoked", body = LeakReceipt),
              (status = 400, description = "not a JSON object of `tokens`", body = super::views::ErrorView),
              (status = 413, description = "over 1 MiB", body = super::views::ErrorView),
              (status = 422, description = "no string, or more than 1000", body = super::views::ErrorView),
              (status = 429, description = "more than 60 reports from this address in an hour; `Retry-After` says when to retry",
               body = super::views::ErrorView)))]
pub async fn leaks(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let client = reporter(peer, &headers);
    if let Err(retry) = app.leak_reports.admit(client, crate::clock::now()) {
        let mut r = ApiError::TooManyReports {
            per_hour: REPORTS_PER_WINDOW,
            window_secs: REPORT_WINDOW_SECS,
        }
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&retry.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let bytes = match axum::body::to_bytes(body, MAX_REPORT).await {
        Ok(b) => b,
        Err(_) => return ApiError::BodyTooLarge { limit: MAX_REPORT }.into_response(),
    };
    let report: LeakReport = match super::read_json(&bytes) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let received = report.tokens.len();
    if received == 0 || received > MAX_REPORTED {
        return ApiError::ReportSize {
            received,
            max: MAX_REPORTED,
        }
        .into_response();
    }
    // Off the answer's path, and after it: the lookups and the revocations (a durable commit)
    // would otherwise take the CPU and the disk from the answer while it is written, and make
    // it slower for live tokens than for strangers.
    let worker = app.clone();
    tokio::spawn(async move {
        tokio::time::sleep(REVOCATION_DELAY).await;
        let _ = tokio::task::spawn_blocking(move || worker.revoke_leaked(&report.tokens)).await;
    });
    (StatusCode::ACCEPTED, Json(LeakReceipt { received })).into_response()
}
