//! `/check`: forward authentication for nginx `auth_request`, Traefik ForwardAuth, Caddy's
//! `forward_auth` and Envoy. The answer is the module's, written out as it stands.

use super::App;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

pub async fn check(State(app): State<App>, headers: HeaderMap) -> Response {
    // Every header as it arrived, repeats included: which ones count is the module's to say.
    let out = match app.check(headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes()))) {
        Ok(out) => out,
        // No module is loaded, so none can word the answer; `serve` never starts without one.
        Err(e) => {
            e.log();
            return (StatusCode::FORBIDDEN, e.code()).into_response();
        }
    };
    let answer = &*out.answer;
    let mut response = Response::new(Body::from(answer.body.clone()));
    *response.status_mut() = answer.status;
    let written = response.headers_mut();
    written.reserve(answer.headers.len());
    for (name, value) in &answer.headers {
        written.append(name.clone(), value.clone());
    }
    response
}
