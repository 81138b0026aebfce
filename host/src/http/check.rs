//! `/check`: forward authentication for nginx `auth_request`, Traefik ForwardAuth and Envoy.

use super::App;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

fn header_text<'a>(headers: &'a HeaderMap, names: &[&str]) -> Option<std::borrow::Cow<'a, str>> {
    names
        .iter()
        .find_map(|n| headers.get(*n))
        .map(|v| String::from_utf8_lossy(v.as_bytes()))
}

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
    let method = header_text(&headers, &["x-original-method", "x-forwarded-method"]);
    let uri = header_text(&headers, &["x-original-uri", "x-forwarded-uri"]);
    let auth = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
    let out = app.check(method.as_deref(), uri.as_deref(), auth);
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
        if let Ok(v) = HeaderValue::from_str(&bearer) {
            h.append(header::WWW_AUTHENTICATE, v);
        }
        // Git clients only answer a Basic challenge with credentials.
        h.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"scopegate\""),
        );
    }
    resp
}
