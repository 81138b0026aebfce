//! `/check`: forward authentication for nginx `auth_request`, Traefik ForwardAuth, Caddy's
//! `forward_auth` and Envoy. The answer is the module's, written out as it stands.

use super::App;
use crate::metrics::{self, CredentialType, Reason};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use std::time::Instant;

static CREDENTIAL_TYPE: HeaderName = HeaderName::from_static("x-credential-type");

pub async fn check(State(app): State<App>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    // Every header as it arrived, repeats included: which ones count is the module's to say.
    let out = match app.check(headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes()))) {
        Ok(out) => out,
        // No module is loaded, so none can word the answer; `serve` never starts without one.
        Err(e) => {
            e.log();
            metrics::check(Reason::Other, CredentialType::None, started.elapsed());
            return (StatusCode::FORBIDDEN, e.code()).into_response();
        }
    };
    let answer = &*out.answer;
    let credential_type = answer
        .headers
        .iter()
        .find(|(name, _)| *name == CREDENTIAL_TYPE)
        .map(|(_, value)| value.as_bytes());
    metrics::check(
        Reason::of(&answer.reason),
        CredentialType::of(credential_type),
        started.elapsed(),
    );
    let mut response = Response::new(Body::from(answer.body.clone()));
    *response.status_mut() = answer.status;
    let written = response.headers_mut();
    written.reserve(answer.headers.len());
    for (name, value) in &answer.headers {
        written.append(name.clone(), value.clone());
    }
    response
}
