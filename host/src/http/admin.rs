//! The admin API of SPEC §9 under `/admin/v1`, behind the admin key.

use super::views::{CreatedView, TokenView};
use super::{blocking, App, JsonBody, P};
use crate::clock;
use crate::error::ApiError;
use crate::service::{IssueRequest, ResourceRef};
use crate::store::{Entity, Plan, TokenPolicy};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

pub fn router(app: App) -> Router<App> {
    Router::new()
        .route("/workspaces", get(list_workspaces))
        .route(
            "/workspaces/{ws}",
            put(put_workspace)
                .delete(delete_workspace)
                .get(get_workspace),
        )
        .route(
            "/workspaces/{ws}/projects/{key}",
            put(put_project).delete(delete_project),
        )
        .route(
            "/workspaces/{ws}/repositories/{slug}",
            put(put_repository).delete(delete_repository),
        )
        .route(
            "/workspaces/{ws}/repositories/{slug}/transfer",
            post(transfer_repository),
        )
        .route(
            "/workspaces/{ws}/access-tokens",
            post(create_ws_token).get(list_ws_tokens),
        )
        .route(
            "/workspaces/{ws}/projects/{key}/access-tokens",
            post(create_project_token).get(list_project_tokens),
        )
        .route(
            "/workspaces/{ws}/repositories/{slug}/access-tokens",
            post(create_repo_token).get(list_repo_tokens),
        )
        .route("/access-tokens/{id}", get(show_token).delete(revoke_token))
        .route("/access-tokens/{id}/rotate", post(rotate_token))
        .route("/edge/snapshot", get(edge_snapshot))
        .route("/policy", get(policy_info))
        .route("/policy/reload", post(policy_reload))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(app, require_admin))
}

async fn require_admin(State(app): State<App>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim().to_string());
    match presented {
        None => ApiError::AdminKeyMissing.into_response(),
        Some(k) if !app.admin_key_matches(&k) => ApiError::AdminKeyInvalid.into_response(),
        Some(_) => next.run(req).await,
    }
}

async fn not_found() -> ApiError {
    ApiError::NoSuchEndpoint
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::InvalidBody(message.into())
}

fn object(v: Value, allow_empty: bool) -> Result<Map<String, Value>, ApiError> {
    match v {
        Value::Object(m) => Ok(m),
        Value::Null if allow_empty => Ok(Map::new()),
        _ => Err(invalid("the body must be a JSON object")),
    }
}

fn required_str(m: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    match m.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(invalid(format!("{field} must be a string"))),
        None => Err(invalid(format!("{field} is required"))),
    }
}

fn expires_at(m: &Map<String, Value>) -> Result<Option<i64>, ApiError> {
    match m.get("expires_at") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => clock::parse_rfc3339(s)
            .map(Some)
            .ok_or_else(|| invalid(format!("expires_at {s:?} is not an RFC 3339 date-time"))),
        Some(_) => Err(invalid("expires_at must be an RFC 3339 string or null")),
    }
}

fn workspace_json(ws: &crate::store::Workspace) -> Value {
    json!(ws)
}

fn created_status(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

async fn list_workspaces(State(app): State<App>) -> Result<Response, ApiError> {
    let list = blocking(&app, |s| Ok(s.store.list_workspaces()?)).await?;
    Ok(Json(json!({"size": list.len(), "values": list})).into_response())
}

async fn get_workspace(State(app): State<App>, P(ws): P<String>) -> Result<Response, ApiError> {
    let out = blocking(&app, move |s| {
        let w = s
            .store
            .get_workspace(&ws)?
            .ok_or(ApiError::NotFound(Entity::Workspace))?;
        let projects = s.store.list_projects(&ws)?;
        let repositories = s.store.list_repositories(&ws)?;
        let mut v = workspace_json(&w);
        v["projects"] = json!(projects);
        v["repositories"] = json!(repositories);
        Ok(v)
    })
    .await?;
    Ok(Json(out).into_response())
}

async fn put_workspace(
    State(app): State<App>,
    P(ws): P<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let m = object(body, false)?;
    let plan = required_str(&m, "plan")?;
    let plan = Plan::parse(&plan).ok_or_else(|| {
        invalid(format!(
            "plan {plan:?} is not one of free, standard, premium"
        ))
    })?;
    let mut policy = TokenPolicy::default();
    match m.get("max_lifetime_days") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if matches!(n.as_u64(), Some(90 | 180 | 365)) => {
            policy.max_lifetime_days = n.as_u64().unwrap_or(365) as u32
        }
        Some(_) => return Err(invalid("max_lifetime_days must be 90, 180 or 365")),
    }
    match m.get("allow_no_expiry") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => policy.allow_no_expiry = *b,
        Some(_) => return Err(invalid("allow_no_expiry must be a boolean")),
    }
    let (w, created) = blocking(&app, move |s| s.put_workspace(&ws, plan, policy)).await?;
    Ok((created_status(created), Json(workspace_json(&w))).into_response())
}

async fn delete_workspace(
    State(app): State<App>,
    P(ws): P<String>,
) -> Result<StatusCode, ApiError> {
    blocking(&app, move |s| s.delete_workspace(&ws)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn put_project(
    State(app): State<App>,
    P((ws, key)): P<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    object(body, true)?;
    let (p, created) = blocking(&app, move |s| s.put_project(&ws, &key)).await?;
    Ok((created_status(created), Json(json!(p))).into_response())
}

async fn delete_project(
    State(app): State<App>,
    P((ws, key)): P<(String, String)>,
) -> Result<StatusCode, ApiError> {
    blocking(&app, move |s| s.delete_project(&ws, &key)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn put_repository(
    State(app): State<App>,
    P((ws, slug)): P<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let m = object(body, false)?;
    let project = required_str(&m, "project")?;
    let (r, created) = blocking(&app, move |s| s.put_repository(&ws, &slug, &project)).await?;
    Ok((created_status(created), Json(json!(r))).into_response())
}

async fn delete_repository(
    State(app): State<App>,
    P((ws, slug)): P<(String, String)>,
) -> Result<StatusCode, ApiError> {
    blocking(&app, move |s| s.delete_repository(&ws, &slug)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn transfer_repository(
    State(app): State<App>,
    P((ws, slug)): P<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let m = object(body, false)?;
    let to_ws = required_str(&m, "workspace")?;
    let to_project = required_str(&m, "project")?;
    let r = blocking(&app, move |s| {
        s.transfer_repository(&ws, &slug, &to_ws, &to_project)
    })
    .await?;
    Ok(Json(json!(r)).into_response())
}

fn issue_request(body: Value) -> Result<IssueRequest, ApiError> {
    let m = object(body, false)?;
    let name = required_str(&m, "name")?;
    let scopes = match m.get("scopes") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("scopes must be an array of strings"))?,
        Some(_) => return Err(invalid("scopes must be an array of strings")),
        None => return Err(invalid("scopes is required")),
    };
    Ok(IssueRequest {
        name,
        scopes,
        expires_at: expires_at(&m)?,
    })
}

async fn create(app: App, r: ResourceRef, body: Value) -> Result<Response, ApiError> {
    let req = issue_request(body)?;
    let created = blocking(&app, move |s| s.create_token(&r, req)).await?;
    Ok((StatusCode::CREATED, Json(CreatedView::of(&created))).into_response())
}

async fn list(app: App, r: ResourceRef) -> Result<Response, ApiError> {
    let now = clock::now();
    let list = blocking(&app, move |s| s.list_tokens(&r)).await?;
    let values: Vec<TokenView> = list.iter().map(|t| TokenView::of(t, now)).collect();
    Ok(
        Json(json!({"size": values.len(), "page": 1, "pagelen": values.len(), "values": values}))
            .into_response(),
    )
}

async fn create_ws_token(
    State(app): State<App>,
    P(ws): P<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    create(app, ResourceRef::Workspace(ws), body).await
}

async fn list_ws_tokens(State(app): State<App>, P(ws): P<String>) -> Result<Response, ApiError> {
    list(app, ResourceRef::Workspace(ws)).await
}

async fn create_project_token(
    State(app): State<App>,
    P((ws, key)): P<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    create(app, ResourceRef::Project(ws, key), body).await
}

async fn list_project_tokens(
    State(app): State<App>,
    P((ws, key)): P<(String, String)>,
) -> Result<Response, ApiError> {
    list(app, ResourceRef::Project(ws, key)).await
}

async fn create_repo_token(
    State(app): State<App>,
    P((ws, slug)): P<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    create(app, ResourceRef::Repository(ws, slug), body).await
}

async fn list_repo_tokens(
    State(app): State<App>,
    P((ws, slug)): P<(String, String)>,
) -> Result<Response, ApiError> {
    list(app, ResourceRef::Repository(ws, slug)).await
}

async fn show_token(State(app): State<App>, P(id): P<String>) -> Result<Response, ApiError> {
    let rec = blocking(&app, move |s| s.get_token(&id)).await?;
    Ok(Json(TokenView::of(&rec, clock::now())).into_response())
}

async fn revoke_token(State(app): State<App>, P(id): P<String>) -> Result<StatusCode, ApiError> {
    blocking(&app, move |s| s.revoke_token(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rotate_token(
    State(app): State<App>,
    P(id): P<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let m = object(body, true)?;
    let expires = expires_at(&m)?;
    let created = blocking(&app, move |s| s.rotate_token(&id, expires)).await?;
    Ok((StatusCode::CREATED, Json(CreatedView::of(&created))).into_response())
}

async fn edge_snapshot(State(app): State<App>) -> Result<Response, ApiError> {
    let snapshot = blocking(&app, crate::edge::snapshot).await?;
    // Fresh on every fetch: a cached copy would keep a revoked token alive past its refresh.
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(snapshot)).into_response())
}

async fn policy_info(State(app): State<App>) -> Result<Json<crate::runtime::PolicyInfo>, ApiError> {
    Ok(Json(app.policy()?.info()))
}

async fn policy_reload(
    State(app): State<App>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let m = object(body, true)?;
    let pin = match m.get("sha256") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("sha256 must be a string")),
    };
    let info = blocking(&app, move |s| {
        s.policy()?.reload(pin).map_err(|e| {
            tracing::error!(error = %e, "policy reload refused; the previous module stays in force");
            ApiError::PolicyLoad(e)
        })
    })
    .await?;
    tracing::info!(sha256 = %info.sha256, "policy module reloaded");
    Ok(Json(info).into_response())
}
