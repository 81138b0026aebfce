//! The HTTP face of the service: `/check`, the admin API under `/admin/v1`, `/metrics`, and the
//! demo at `/`.

pub mod admin;
pub mod check;
pub mod guard;
pub mod listen;
pub mod views;

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
use serde_json::{json, Value};
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
        let body =
            json!({"type": "error", "error": {"message": self.message(), "reason": self.code()}});
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

/// A JSON body, with our own error shape for every way it can be wrong. An empty body reads as
/// `null`, so that bodies that only carry optional fields may be left out.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(|_| ApiError::BodyTooLarge { limit: MAX_BODY })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(Value::Null));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(ApiError::InvalidJson)
    }
}

/// Path parameters, with our own error shape.
pub struct P<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for P<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| P(t))
            .map_err(ApiError::InvalidPath)
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

/// `GET /metrics`: unauthenticated, as Prometheus scrapes expect; it carries no token id, path
/// or secret (see `metrics`).
async fn metrics_text() -> Response {
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
    Router::new()
        .route("/check", any(check::check))
        .route("/metrics", get(metrics_text))
        .nest(
            "/admin/v1",
            admin::router(app.clone()).layer(axum::middleware::from_fn(count_admin_request)),
        )
        .fallback_service(tower_http::services::ServeDir::new(www))
        .with_state(app)
}
