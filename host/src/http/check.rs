//! `/check`: forward authentication for nginx `auth_request`, Traefik ForwardAuth and Envoy.

use super::App;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

fn joined<'a>(scopes: impl Iterator<Item = &'a str>) -> HeaderValue {
    let mut text = String::with_capacity(64);
    for (i, scope) in scopes.enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        text.push_str(scope);
    }
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub async fn check(State(app): State<App>, headers: HeaderMap) -> Response {
    // Every header as it arrived, repeats included: which ones count is the module's to say.
    let out = app.check(headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
    let d = &*out.decision;
    if out.allowed() {
        let mut resp = (
            StatusCode::OK,
            axum::Json(json!({"allow": true, "reason": d.reason(), "operation": d.operation()})),
        )
            .into_response();
        let h = resp.headers_mut();
        if let Some((id, kind)) = &out.token {
            h.insert(
                HeaderName::from_static("x-credential-type"),
                HeaderValue::from_static(kind.credential_type()),
            );
            if let Ok(v) = HeaderValue::from_str(id) {
                h.insert(HeaderName::from_static("x-token-id"), v);
            }
        }
        h.insert(
            HeaderName::from_static("x-oauth-scopes"),
            joined(d.granted_scopes()),
        );
        h.insert(
            HeaderName::from_static("x-accepted-oauth-scopes"),
            joined(d.required_scopes()),
        );
        return resp;
    }
    if out.status != 401 && out.status != 403 {
        tracing::warn!(status = out.status, reason = %d.reason(), "unexpected check status");
    }
    let status = if out.status == 401 {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::FORBIDDEN
    };
    let body = json!({"type": "error", "error": {
        "message": d.message(),
        "detail": {"reason": d.reason(),
                   "required": d.required_scopes().collect::<Vec<_>>(),
                   "granted": d.granted_scopes().collect::<Vec<_>>()}}});
    let mut resp = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        let h = resp.headers_mut();
        let bearer = if d.reason() == "token_missing" {
            "Bearer realm=\"scopegate\"".to_string()
        } else {
            format!(
                "Bearer realm=\"scopegate\", error=\"invalid_token\", error_description=\"{}\"",
                d.reason()
            )
        };
        let bearer = HeaderValue::from_str(&bearer)
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer realm=\"scopegate\""));
        let basic = HeaderValue::from_static("Basic realm=\"scopegate\"");
        // nginx's auth_request passes on only the first challenge, and git answers only Basic.
        let (first, second) = if out.git {
            (basic, bearer)
        } else {
            (bearer, basic)
        };
        h.append(header::WWW_AUTHENTICATE, first);
        h.append(header::WWW_AUTHENTICATE, second);
    }
    resp
}
