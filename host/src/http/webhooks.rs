//! `…/workspaces/{ws}/webhooks`: a workspace's webhooks (SPEC §11). No answer carries a
//! webhook's secret: it is set, replaced with the whole definition, and never read back.

use super::admin::{page_of, QueryOf};
use super::bodies::Slug;
use super::{blocking, App, Checked, JsonBody, P};
use crate::clock;
use crate::error::{ApiError, NameKind};
use crate::service::{check_slug, Caller, WebhookRequest, SECRET_PATTERN, URL_MAX, URL_PATTERN};
use crate::store::page::Order;
use crate::store::webhooks::Webhook;
use crate::store::WebhookEvent;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, PartialSchema, ToSchema};

const ADMIN: &str = "admin";

/// A webhook named in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookPath {
    /// Workspace slug.
    pub ws: Slug,
    /// Webhook name (the rule of a slug).
    pub name: Slug,
}

impl Checked for WebhookPath {
    fn check(&self) -> Result<(), ApiError> {
        check_slug(&self.ws.0, NameKind::Workspace)?;
        check_slug(&self.name.0, NameKind::Webhook)
    }
}

/// Where deliveries are POSTed; the service's `check_url` is [`URL_PATTERN`].
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct WebhookUrl(pub String);

impl PartialSchema for WebhookUrl {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(URL_PATTERN))
            .max_length(Some(URL_MAX))
            .into()
    }
}

impl ToSchema for WebhookUrl {}

/// The HMAC key of the signatures: [`SECRET_PATTERN`]. Written, never read back.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct WebhookSecret(pub String);

/// Never printed: a body logged while debugging must not carry it.
impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

impl PartialSchema for WebhookSecret {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(SECRET_PATTERN))
            .write_only(true)
            .into()
    }
}

impl ToSchema for WebhookSecret {}

/// `PUT /workspaces/{ws}/webhooks/{name}`: the whole definition (a replacement sets every
/// field again, the secret included).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// `http://` or `https://`; deliveries are POSTed here.
    pub url: WebhookUrl,
    /// The key of `X-Scopegate-Signature` (HMAC-SHA256): 16-256 visible ASCII characters.
    pub secret: WebhookSecret,
    /// The events to send (repeats are ignored).
    #[schema(min_items = 1)]
    pub events: Vec<WebhookEvent>,
}

/// A webhook as the API shows it: never its secret.
#[derive(Serialize, Debug, Clone, ToSchema)]
pub struct WebhookView {
    pub workspace: String,
    pub name: String,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl WebhookView {
    pub fn of(h: &Webhook) -> Self {
        WebhookView {
            workspace: h.workspace.clone(),
            name: h.name.clone(),
            url: h.url.clone(),
            events: h.events.clone(),
            created_at: clock::to_rfc3339(h.created_at),
            updated_at: clock::to_rfc3339(h.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    pub values: Vec<WebhookView>,
    /// The page size asked for.
    pub pagelen: usize,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Create a webhook, or replace its whole definition.
#[utoipa::path(put, path = "/workspaces/{ws}/webhooks/{name}", tag = ADMIN,
    params(WebhookPath), request_body = WebhookBody,
    responses((status = 201, description = "created", body = WebhookView),
              (status = 200, description = "replaced", body = WebhookView)))]
pub async fn put_webhook(
    State(app): State<App>,
    P(path): P<WebhookPath>,
    caller: Caller,
    JsonBody(body): JsonBody<WebhookBody>,
) -> Result<Response, ApiError> {
    let req = WebhookRequest {
        url: body.url.0,
        secret: body.secret.0,
        events: body.events,
    };
    let (hook, created) = blocking(&app, move |s| {
        s.put_webhook(&path.ws.0, &path.name.0, &req, &caller)
    })
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(WebhookView::of(&hook))).into_response())
}

/// One webhook (without its secret).
#[utoipa::path(get, path = "/workspaces/{ws}/webhooks/{name}", tag = ADMIN,
    params(WebhookPath),
    responses((status = 200, description = "the webhook", body = WebhookView)))]
pub async fn get_webhook(
    State(app): State<App>,
    P(path): P<WebhookPath>,
    caller: Caller,
) -> Result<Json<WebhookView>, ApiError> {
    let hook = blocking(&app, move |s| {
        s.get_webhook(&path.ws.0, &path.name.0, &caller)
    })
    .await?;
    Ok(Json(WebhookView::of(&hook)))
}

/// Delete a webhook; its deliveries not yet made are dropped.
#[utoipa::path(delete, path = "/workspaces/{ws}/webhooks/{name}", tag = ADMIN,
    params(WebhookPath), responses((status = 204, description = "deleted")))]
pub async fn delete_webhook(
    State(app): State<App>,
    P(path): P<WebhookPath>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    blocking(&app, move |s| {
        s.delete_webhook(&path.ws.0, &path.name.0, &caller)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of the workspace's webhooks, in name order (without their secrets).
#[utoipa::path(get, path = "/workspaces/{ws}/webhooks", tag = ADMIN,
    params(super::bodies::WorkspacePath, super::bodies::PageParams),
    responses((status = 200, description = "a page of webhooks", body = WebhookList)))]
pub async fn list_webhooks(
    State(app): State<App>,
    P(path): P<super::bodies::WorkspacePath>,
    caller: Caller,
    q: QueryOf<super::bodies::PageParams>,
) -> Result<Json<WebhookList>, ApiError> {
    let page = page_of(q, Order::Key(""))?;
    let limit = page.limit;
    let hooks = blocking(&app, move |s| s.list_webhooks(&path.ws.0, &page, &caller)).await?;
    let next_cursor = hooks.next.as_ref().and_then(|a| a.cursor());
    Ok(Json(WebhookList {
        values: hooks.items.iter().map(WebhookView::of).collect(),
        pagelen: limit,
        next_cursor,
    }))
}
