//! The HTTP face of the service: `/check`, the admin API under `/admin/v1`, `/metrics`, and the
//! demo at `/`.

pub mod admin;
pub mod bodies;
pub mod check;
pub mod guard;
pub mod listen;
pub mod oauth;
pub mod openapi;
pub mod views;
pub mod webhooks;

use crate::error::ApiError;
use crate::metrics;
use crate::service::Service;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Path, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use std::path::PathBuf;
use std::sync::Arc;

/// Largest admin request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

pub type App = Arc<Service>;

/// The one place the admin API answers an error, and so where it is logged.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = views::ErrorView {
            r#type: views::ErrorType::Error,
            error: views::ErrorDetail {
                message: self.message(),
                reason: self.code().to_owned(),
            },
        };
        let mut resp = (status, Json(body)).into_response();
        if matches!(self, ApiError::AdminKeyMissing | ApiError::AdminKeyInvalid) {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"scopegate admin\""),
            );
        }
        if matches!(self, ApiError::BodyTooLarge { .. }) {
            // The unread rest of the body is still on the wire: tell the client this connection
            // is finished, so it does not send its next request down it.
            resp.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        resp
    }
}

/// A JSON body read into its type, with our own error shape for every way it can be wrong: not
/// JSON at all is `invalid_json`; JSON of the wrong shape (a missing, unknown, repeated or
/// mistyped field) is `invalid_body`. An empty body, or `null`, reads as `{}`, so that bodies
/// that only carry optional fields may be left out.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(|_| ApiError::BodyTooLarge { limit: MAX_BODY })?;
        let text: &[u8] =
            if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
                b"{}"
            } else {
                &bytes
            };
        read_json(text).map(JsonBody)
    }
}

/// A JSON body read into its type: not JSON at all is `invalid_json`; JSON of the wrong shape
/// is `invalid_body`.
pub fn read_json<T: DeserializeOwned>(text: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(text).map_err(|e| {
        // serde_json words some shape errors as syntax errors (`[1]` for an object), so
        // whether the text is JSON at all is asked of the text itself.
        match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
            Ok(_) => ApiError::InvalidBody(e.to_string()),
            Err(not_json) => ApiError::InvalidJson(not_json),
        }
    })
}

/// Path parameters that check their own names, so that every route refuses a name no resource
/// can have (400) before it looks anything up.
pub trait Checked {
    fn check(&self) -> Result<(), ApiError>;
}

/// Path parameters, read and checked, with our own error shape.
pub struct P<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Checked + Send> FromRequestParts<S> for P<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(t) = Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(ApiError::InvalidPath)?;
        t.check()?;
        Ok(P(t))
    }
}

/// Run store/module work off the async workers: commits wait for fsync.
pub async fn blocking<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&Service) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || f(&app))
        .await
        .unwrap_or_else(|e| Err(ApiError::TaskFailed(e)))
}

/// The host's counters and latencies, in the OpenMetrics text format.
///
/// Unauthenticated, as Prometheus scrapes expect: it carries no token id, path or secret, only
/// reasons, credential types, route templates and statuses (see `metrics`).
#[utoipa::path(get, path = "/metrics", tag = "metrics",
    responses((status = 200, description = "the metrics", content_type = "application/openmetrics-text",
               body = String)))]
pub async fn metrics_text() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        metrics::encode(),
    )
        .into_response()
}

/// Counts each admin request by the route template it matched, outside the admin key's check so
/// that refused requests count too.
async fn count_admin_request(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(metrics::Route::unmatched, metrics::Route::matched);
    let method = metrics::Method::of(req.method());
    let response = next.run(req).await;
    metrics::admin_request(route, method, response.status().as_u16());
    response
}

pub fn router(app: App, www: PathBuf) -> Router {
    let (admin, _) = admin::routes().split_for_parts();
    Router::new()
        .route("/check", any(check::check))
        .route("/metrics", get(metrics_text))
        .route("/oauth/revoke", axum::routing::post(oauth::revoke))
        .route("/oauth/introspect", axum::routing::post(oauth::introspect))
        .route("/leaks", axum::routing::post(oauth::leaks))
        .nest(
            "/admin/v1",
            admin::guarded(admin, app.clone())
                .layer(axum::middleware::from_fn(count_admin_request)),
        )
        .fallback_service(tower_http::services::ServeDir::new(www))
        .with_state(app)
}
