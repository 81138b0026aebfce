//! `/check`: forward authentication for nginx `auth_request`, Traefik ForwardAuth, Caddy's
//! `forward_auth` and Envoy. The answer is the module's, written out as it stands.

use super::App;
use crate::metrics;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use std::time::Instant;

static CREDENTIAL_TYPE: HeaderName = HeaderName::from_static("x-credential-type");

/// Decide one forwarded request.
///
/// The front asks before it passes the request on, and passes the answer's status on (and, on
/// an allow, the `X-Token-Id`, `X-Credential-Type` and `X-OAuth-Scopes` headers to its
/// upstream). Every method is answered alike.
#[utoipa::path(
    method(get, put, post, delete, options, head, patch, trace),
    path = "/check",
    tag = "check",
    params(
        ("X-Original-Method" = Option<String>, Header,
         description = "The original request's method (nginx configurations set X-Original-*)."),
        ("X-Original-URI" = Option<String>, Header,
         description = "The original request's path and query."),
        ("X-Forwarded-Method" = Option<String>, Header,
         description = "The original method, as Caddy and Traefik set it."),
        ("X-Forwarded-Uri" = Option<String>, Header,
         description = "The original path and query, as Caddy and Traefik set them."),
    ),
    security((), ("access_token" = []), ("access_token_basic" = [])),
    responses(
        (status = 200, description = "allowed", body = super::openapi::CheckAllow, headers(
            ("X-Credential-Type" = String,
             description = "repo_access_token, project_access_token or workspace_access_token"),
            ("X-OAuth-Scopes" = String, description = "the token's effective scopes, sorted, joined by `, `"),
            ("X-Accepted-OAuth-Scopes" = String, description = "the scopes the operation needs"),
            ("X-Token-Id" = String, description = "the token's id, never its secret"),
        )),
        (status = 401, description = "no token, a malformed one, or one that is unknown, \
                                      revoked or expired", body = super::openapi::CheckDenial,
         headers(("WWW-Authenticate" = String,
                  description = "Basic first for git smart HTTP, Bearer first otherwise; both are sent"))),
        (status = 403, description = "the token does not reach this call, or the request is \
                                      malformed", body = super::openapi::CheckDenial),
    )
)]
pub async fn check(State(app): State<App>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    // Every header as it arrived, repeats included: which ones count is the module's to say.
    let out = match app.check(headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes()))) {
        Ok(out) => out,
        // No module is loaded, so none can word the answer; `serve` never starts without one.
        Err(e) => {
            e.log();
            metrics::check(e.code(), None, started.elapsed());
            return (StatusCode::FORBIDDEN, e.code().to_owned()).into_response();
        }
    };
    let answer = &*out.answer;
    let credential_type = answer
        .headers
        .iter()
        .find(|(name, _)| *name == CREDENTIAL_TYPE)
        .map(|(_, value)| value.as_bytes());
    metrics::check(&answer.reason, credential_type, started.elapsed());
    let mut response = Response::new(Body::from(answer.body.clone()));
    *response.status_mut() = answer.status;
    let written = response.headers_mut();
    written.reserve(answer.headers.len());
    for (name, value) in &answer.headers {
        written.append(name.clone(), value.clone());
    }
    response
}
