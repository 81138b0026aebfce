//! The admin API of SPEC §9 under `/admin/v1`, behind the admin key. Each handler carries its
//! own OpenAPI description (`#[utoipa::path]`), and [`routes`] registers the handler and its
//! description together, so the served document ([`super::openapi`]) is the router's own.

use super::bodies::{
    AuditParams, CredentialBody, CredentialPageParams, CredentialPath, IssueBody, PageParams,
    ProjectBody, ProjectPath, ReloadBody, RepositoryBody, RepositoryListParams, RepositoryPath,
    RotateBody, SnapshotParams, TokenPageParams, TokenPath, TransferBody, WorkspaceBody,
    WorkspacePath,
};
use super::views::{
    AuditPage, AuditView, CreatedView, CredentialCreatedView, CredentialList, CredentialView,
    ErrorView, ProjectList, RepositoryList, TokenList, TokenView, WhoAmIView, WorkspaceDetail,
    WorkspaceList,
};
use super::{blocking, openapi, App, Checked, JsonBody, P};
use crate::clock;
use crate::error::{ApiError, NameKind};
use crate::service::{
    check_key, check_slug, Action, Caller, CredentialRequest, IssueRequest, ResourceRef,
};
use crate::store::page::{Order, DEFAULT_LIMIT, MAX_LIMIT, NEWEST_TOKENS};
use crate::store::{AuditQuery, PageRequest, MAX_AUDIT_PAGE};
use crate::store::{Project, Repository, TokenPolicy, Workspace};
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The tag every admin operation carries in the document.
const ADMIN: &str = "admin";

/// Every admin route with its description, not yet behind the key (see [`guarded`]).
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(whoami))
        .routes(routes!(list_workspaces))
        .routes(routes!(get_workspace, put_workspace, delete_workspace))
        .routes(routes!(list_projects))
        .routes(routes!(list_repositories))
        .routes(routes!(put_project, delete_project))
        .routes(routes!(put_repository, delete_repository))
        .routes(routes!(transfer_repository))
        .routes(routes!(create_ws_token, list_ws_tokens))
        .routes(routes!(create_project_token, list_project_tokens))
        .routes(routes!(create_repo_token, list_repo_tokens))
        .routes(routes!(show_token, revoke_token))
        .routes(routes!(rotate_token))
        .routes(routes!(edge_snapshot))
        .routes(routes!(policy_info))
        .routes(routes!(policy_reload))
        .routes(routes!(super::webhooks::list_webhooks))
        .routes(routes!(
            super::webhooks::get_webhook,
            super::webhooks::put_webhook,
            super::webhooks::delete_webhook
        ))
        .routes(routes!(create_credential, list_credentials))
        .routes(routes!(revoke_credential))
        .routes(routes!(read_audit))
}

/// The admin routes behind the admin key; the document itself is open to all (it holds nothing
/// a reader of the repository does not have).
pub fn guarded(admin: Router<App>, app: App) -> Router<App> {
    admin
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(app, require_admin))
        .route("/openapi.json", get(openapi::serve))
}

/// Matches the bearer credential to a caller, and hands the caller to the handler (which names
/// the action it performs: see `service::roles`).
async fn require_admin(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let Some(presented) = bearer(req.headers()) else {
        return ApiError::AdminKeyMissing.into_response();
    };
    match blocking(&app, move |s| s.authenticate(&presented)).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

/// The secret of `Authorization: Bearer …`, if the request has one.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim().to_string())
}

/// The caller `require_admin` matched. A route without it is a bug, answered 401, never served.
impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(ApiError::AdminKeyMissing)
    }
}

async fn not_found() -> ApiError {
    ApiError::NoSuchEndpoint
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

pub(super) type QueryOf<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

/// A query string that can't be read is a 400 naming what is wrong.
pub(super) fn query<T>(q: QueryOf<T>) -> Result<T, ApiError> {
    q.map(|Query(p)| p)
        .map_err(|e| ApiError::InvalidQuery(e.body_text()))
}

/// The page a list's query asks for; a limit out of range, or a cursor this list did not hand
/// out, is a 400.
pub(super) fn page_request(
    limit: Option<usize>,
    cursor: Option<String>,
    order: Order,
) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::InvalidQuery(format!(
            "limit must be 1 to {MAX_LIMIT}"
        )));
    }
    let after = match cursor {
        None => crate::store::After::Start,
        Some(c) => order
            .parse(&c)
            .map_err(|e| ApiError::InvalidQuery(e.to_string()))?,
    };
    Ok(PageRequest { limit, after })
}

pub(super) fn page_of(q: QueryOf<PageParams>, order: Order) -> Result<PageRequest, ApiError> {
    let p = query(q)?;
    page_request(p.limit, p.cursor, order)
}

/// The calling credential and what its role may do.
#[utoipa::path(get, path = "/whoami", tag = ADMIN,
    responses((status = 200, description = "the calling credential", body = WhoAmIView)))]
async fn whoami(State(app): State<App>, caller: Caller) -> Result<Json<WhoAmIView>, ApiError> {
    let actions = caller.actions().into_iter().map(Action::as_str).collect();
    let rec = blocking(&app, move |s| s.whoami(&caller)).await?;
    Ok(Json(WhoAmIView {
        id: rec.id,
        name: rec.name,
        role: rec.role,
        workspace: rec.workspace,
        expires_at: rec.expires_at.map(clock::to_rfc3339),
        actions,
    }))
}

impl Checked for WorkspacePath {
    fn check(&self) -> Result<(), ApiError> {
        check_slug(&self.ws.0, NameKind::Workspace)
    }
}

impl Checked for ProjectPath {
    fn check(&self) -> Result<(), ApiError> {
        check_slug(&self.ws.0, NameKind::Workspace)?;
        check_key(&self.key.0)
    }
}

impl Checked for RepositoryPath {
    fn check(&self) -> Result<(), ApiError> {
        check_slug(&self.ws.0, NameKind::Workspace)?;
        check_slug(&self.slug.0, NameKind::Repository)
    }
}

impl Checked for TokenPath {
    fn check(&self) -> Result<(), ApiError> {
        Ok(())
    }
}

impl Checked for CredentialPath {
    fn check(&self) -> Result<(), ApiError> {
        Ok(())
    }
}

fn expires_at(s: Option<String>) -> Result<Option<i64>, ApiError> {
    s.map(|s| {
        clock::parse_rfc3339(&s).ok_or_else(|| {
            ApiError::InvalidBody(format!("expires_at {s:?} is not an RFC 3339 date-time"))
        })
    })
    .transpose()
}

fn created_status(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// A page of the workspaces, in slug order.
#[utoipa::path(get, path = "/workspaces", tag = ADMIN, params(PageParams),
    responses((status = 200, description = "a page of workspaces", body = WorkspaceList)))]
async fn list_workspaces(
    State(app): State<App>,
    caller: Caller,
    q: QueryOf<PageParams>,
) -> Result<Json<WorkspaceList>, ApiError> {
    let page = page_of(q, Order::Key(""))?;
    let limit = page.limit;
    let list = blocking(&app, move |s| s.list_workspaces(&page, &caller)).await?;
    Ok(Json(WorkspaceList::of(list, limit, |w| w)))
}

/// A workspace with its projects and repositories.
#[utoipa::path(get, path = "/workspaces/{ws}", tag = ADMIN, params(WorkspacePath),
    responses((status = 200, description = "the workspace", body = WorkspaceDetail)))]
async fn get_workspace(
    State(app): State<App>,
    P(path): P<WorkspacePath>,
    caller: Caller,
) -> Result<Json<WorkspaceDetail>, ApiError> {
    let (workspace, projects, repositories) =
        blocking(&app, move |s| s.workspace_detail(&path.ws.0, &caller)).await?;
    Ok(Json(WorkspaceDetail {
        workspace,
        projects_next_cursor: projects.next.as_ref().and_then(|a| a.cursor()),
        projects: projects.items,
        repositories_next_cursor: repositories.next.as_ref().and_then(|a| a.cursor()),
        repositories: repositories.items,
    }))
}

/// A page of the workspace's projects, in key order.
#[utoipa::path(get, path = "/workspaces/{ws}/projects", tag = ADMIN,
    params(WorkspacePath, PageParams),
    responses((status = 200, description = "a page of projects", body = ProjectList)))]
async fn list_projects(
    State(app): State<App>,
    P(path): P<WorkspacePath>,
    caller: Caller,
    q: QueryOf<PageParams>,
) -> Result<Json<ProjectList>, ApiError> {
    let page = page_of(q, Order::Key(""))?;
    let limit = page.limit;
    let list = blocking(&app, move |s| s.list_projects(&path.ws.0, &page, &caller)).await?;
    Ok(Json(ProjectList::of(list, limit, |p| p)))
}

/// A page of the workspace's repositories (or one project's), in slug order.
#[utoipa::path(get, path = "/workspaces/{ws}/repositories", tag = ADMIN,
    params(WorkspacePath, RepositoryListParams),
    responses((status = 200, description = "a page of repositories", body = RepositoryList)))]
async fn list_repositories(
    State(app): State<App>,
    P(path): P<WorkspacePath>,
    caller: Caller,
    q: QueryOf<RepositoryListParams>,
) -> Result<Json<RepositoryList>, ApiError> {
    let p = query(q)?;
    let project = p.project.map(|k| k.0);
    if let Some(k) = &project {
        check_key(k)?;
    }
    let page = page_request(p.limit, p.cursor, Order::Key(""))?;
    let limit = page.limit;
    let list = blocking(&app, move |s| {
        s.list_repositories(&path.ws.0, project.as_deref(), &page, &caller)
    })
    .await?;
    Ok(Json(RepositoryList::of(list, limit, |r| r)))
}

/// Create a workspace, or set its plan and token policy.
#[utoipa::path(put, path = "/workspaces/{ws}", tag = ADMIN, params(WorkspacePath),
    request_body = WorkspaceBody,
    responses((status = 201, description = "created", body = Workspace),
              (status = 200, description = "updated", body = Workspace)))]
async fn put_workspace(
    State(app): State<App>,
    P(path): P<WorkspacePath>,
    caller: Caller,
    JsonBody(body): JsonBody<WorkspaceBody>,
) -> Result<Response, ApiError> {
    let defaults = TokenPolicy::default();
    let policy = TokenPolicy {
        max_lifetime_days: body
            .max_lifetime_days
            .map_or(defaults.max_lifetime_days, |d| d.0),
        allow_no_expiry: body.allow_no_expiry.unwrap_or(defaults.allow_no_expiry),
    };
    let (w, created) = blocking(&app, move |s| {
        s.put_workspace(&path.ws.0, body.plan, policy, &caller)
    })
    .await?;
    Ok((created_status(created), Json(w)).into_response())
}

/// Delete a workspace; its tokens are deactivated.
#[utoipa::path(delete, path = "/workspaces/{ws}", tag = ADMIN, params(WorkspacePath),
    responses((status = 204, description = "deleted")))]
async fn delete_workspace(
    State(app): State<App>,
    P(path): P<WorkspacePath>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    blocking(&app, move |s| s.delete_workspace(&path.ws.0, &caller)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a project.
#[utoipa::path(put, path = "/workspaces/{ws}/projects/{key}", tag = ADMIN, params(ProjectPath),
    request_body(content = Option<ProjectBody>, description = "no fields; may be left out"),
    responses((status = 201, description = "created", body = Project),
              (status = 200, description = "already there", body = Project)))]
async fn put_project(
    State(app): State<App>,
    P(path): P<ProjectPath>,
    caller: Caller,
    JsonBody(ProjectBody {}): JsonBody<ProjectBody>,
) -> Result<Response, ApiError> {
    let (p, created) = blocking(&app, move |s| {
        s.put_project(&path.ws.0, &path.key.0, &caller)
    })
    .await?;
    Ok((created_status(created), Json(p)).into_response())
}

/// Delete a project (refused while it holds repositories); its tokens are deactivated.
#[utoipa::path(delete, path = "/workspaces/{ws}/projects/{key}", tag = ADMIN,
    params(ProjectPath), responses((status = 204, description = "deleted"),
        (status = 409, description = "the project still holds repositories", body = ErrorView)))]
async fn delete_project(
    State(app): State<App>,
    P(path): P<ProjectPath>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    blocking(&app, move |s| {
        s.delete_project(&path.ws.0, &path.key.0, &caller)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a repository, or move it to another project of its workspace.
#[utoipa::path(put, path = "/workspaces/{ws}/repositories/{slug}", tag = ADMIN,
    params(RepositoryPath), request_body = RepositoryBody,
    responses((status = 201, description = "created", body = Repository),
              (status = 200, description = "updated", body = Repository)))]
async fn put_repository(
    State(app): State<App>,
    P(path): P<RepositoryPath>,
    caller: Caller,
    JsonBody(body): JsonBody<RepositoryBody>,
) -> Result<Response, ApiError> {
    let (r, created) = blocking(&app, move |s| {
        s.put_repository(&path.ws.0, &path.slug.0, &body.project.0, &caller)
    })
    .await?;
    Ok((created_status(created), Json(r)).into_response())
}

/// Delete a repository; its tokens are deactivated.
#[utoipa::path(delete, path = "/workspaces/{ws}/repositories/{slug}", tag = ADMIN,
    params(RepositoryPath), responses((status = 204, description = "deleted")))]
async fn delete_repository(
    State(app): State<App>,
    P(path): P<RepositoryPath>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    blocking(&app, move |s| {
        s.delete_repository(&path.ws.0, &path.slug.0, &caller)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Move a repository to another workspace; its tokens are revoked.
#[utoipa::path(post, path = "/workspaces/{ws}/repositories/{slug}/transfer", tag = ADMIN,
    params(RepositoryPath), request_body = TransferBody,
    responses((status = 200, description = "moved", body = Repository),
              (status = 409, description = "the workspace it goes to has a repository of that name", body = ErrorView)))]
async fn transfer_repository(
    State(app): State<App>,
    P(path): P<RepositoryPath>,
    caller: Caller,
    JsonBody(body): JsonBody<TransferBody>,
) -> Result<Json<Repository>, ApiError> {
    let r = blocking(&app, move |s| {
        let (to_ws, to_project) = (&body.workspace.0, &body.project.0);
        s.transfer_repository(&path.ws.0, &path.slug.0, to_ws, to_project, &caller)
    })
    .await?;
    Ok(Json(r))
}

async fn create(
    app: App,
    r: ResourceRef,
    body: IssueBody,
    caller: Caller,
) -> Result<Response, ApiError> {
    let req = IssueRequest {
        name: body.name,
        scopes: body.scopes,
        expires_at: expires_at(body.expires_at)?,
    };
    let created = blocking(&app, move |s| s.create_token(&r, req, &caller)).await?;
    Ok((StatusCode::CREATED, Json(CreatedView::of(&created))).into_response())
}

async fn list(
    app: App,
    r: ResourceRef,
    caller: Caller,
    q: QueryOf<TokenPageParams>,
) -> Result<Json<TokenList>, ApiError> {
    let p = query(q)?;
    let page = page_request(p.limit, p.cursor, NEWEST_TOKENS)?;
    let limit = page.limit;
    let now = clock::now();
    let list = blocking(&app, move |s| s.list_tokens(&r, &page, &caller)).await?;
    Ok(Json(TokenList::of(list, limit, |t| TokenView::of(&t, now))))
}

/// Issue a workspace access token; the secret is in this answer only.
#[utoipa::path(post, path = "/workspaces/{ws}/access-tokens", tag = ADMIN,
    params(WorkspacePath), request_body = IssueBody,
    responses((status = 201, description = "issued; the secret is in this answer only", body = CreatedView),
              (status = 422, description = "the policy module refused to issue it (SPEC §6 reasons)", body = ErrorView)))]
async fn create_ws_token(
    State(app): State<App>,
    P(path): P<WorkspacePath>,
    caller: Caller,
    JsonBody(body): JsonBody<IssueBody>,
) -> Result<Response, ApiError> {
    create(app, ResourceRef::Workspace(path.ws.0), body, caller).await
}

/// The workspace's own access tokens (metadata only).
#[utoipa::path(get, path = "/workspaces/{ws}/access-tokens", tag = ADMIN,
    params(WorkspacePath, TokenPageParams), responses((status = 200, description = "a page of the tokens, newest first, metadata only", body = TokenList)))]
async fn list_ws_tokens(
    State(app): State<App>,
    P(path): P<WorkspacePath>,
    caller: Caller,
    q: QueryOf<TokenPageParams>,
) -> Result<Json<TokenList>, ApiError> {
    list(app, ResourceRef::Workspace(path.ws.0), caller, q).await
}

/// Issue a project access token; the secret is in this answer only.
#[utoipa::path(post, path = "/workspaces/{ws}/projects/{key}/access-tokens", tag = ADMIN,
    params(ProjectPath), request_body = IssueBody,
    responses((status = 201, description = "issued; the secret is in this answer only", body = CreatedView),
              (status = 422, description = "the policy module refused to issue it (SPEC §6 reasons)", body = ErrorView)))]
async fn create_project_token(
    State(app): State<App>,
    P(path): P<ProjectPath>,
    caller: Caller,
    JsonBody(body): JsonBody<IssueBody>,
) -> Result<Response, ApiError> {
    create(
        app,
        ResourceRef::Project(path.ws.0, path.key.0),
        body,
        caller,
    )
    .await
}

/// The project's access tokens (metadata only).
#[utoipa::path(get, path = "/workspaces/{ws}/projects/{key}/access-tokens", tag = ADMIN,
    params(ProjectPath, TokenPageParams), responses((status = 200, description = "a page of the tokens, newest first, metadata only", body = TokenList)))]
async fn list_project_tokens(
    State(app): State<App>,
    P(path): P<ProjectPath>,
    caller: Caller,
    q: QueryOf<TokenPageParams>,
) -> Result<Json<TokenList>, ApiError> {
    list(app, ResourceRef::Project(path.ws.0, path.key.0), caller, q).await
}

/// Issue a repository access token; the secret is in this answer only.
#[utoipa::path(post, path = "/workspaces/{ws}/repositories/{slug}/access-tokens", tag = ADMIN,
    params(RepositoryPath), request_body = IssueBody,
    responses((status = 201, description = "issued; the secret is in this answer only", body = CreatedView),
              (status = 422, description = "the policy module refused to issue it (SPEC §6 reasons)", body = ErrorView)))]
async fn create_repo_token(
    State(app): State<App>,
    P(path): P<RepositoryPath>,
    caller: Caller,
    JsonBody(body): JsonBody<IssueBody>,
) -> Result<Response, ApiError> {
    create(
        app,
        ResourceRef::Repository(path.ws.0, path.slug.0),
        body,
        caller,
    )
    .await
}

/// The repository's access tokens (metadata only).
#[utoipa::path(get, path = "/workspaces/{ws}/repositories/{slug}/access-tokens", tag = ADMIN,
    params(RepositoryPath, TokenPageParams), responses((status = 200, description = "a page of the tokens, newest first, metadata only", body = TokenList)))]
async fn list_repo_tokens(
    State(app): State<App>,
    P(path): P<RepositoryPath>,
    caller: Caller,
    q: QueryOf<TokenPageParams>,
) -> Result<Json<TokenList>, ApiError> {
    list(
        app,
        ResourceRef::Repository(path.ws.0, path.slug.0),
        caller,
        q,
    )
    .await
}

/// One token's metadata, whatever its state (a revoked token stays on record).
#[utoipa::path(get, path = "/access-tokens/{id}", tag = ADMIN, params(TokenPath),
    responses((status = 200, description = "the token", body = TokenView)))]
async fn show_token(
    State(app): State<App>,
    P(path): P<TokenPath>,
    caller: Caller,
) -> Result<Json<TokenView>, ApiError> {
    let rec = blocking(&app, move |s| s.get_token(&path.id, &caller)).await?;
    Ok(Json(TokenView::of(&rec, clock::now())))
}

/// Revoke a token (idempotent). It stays on record, answered as revoked.
#[utoipa::path(delete, path = "/access-tokens/{id}", tag = ADMIN, params(TokenPath),
    responses((status = 204, description = "revoked")))]
async fn revoke_token(
    State(app): State<App>,
    P(path): P<TokenPath>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    blocking(&app, move |s| s.revoke_token(&path.id, &caller)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace a token by a new one with the same name and scopes.
///
/// The old token keeps at most 30 minutes (its `expires_at` shows it).
#[utoipa::path(post, path = "/access-tokens/{id}/rotate", tag = ADMIN, params(TokenPath),
    request_body(content = Option<RotateBody>, description = "may be left out: no expiry"),
    responses((status = 201, description = "issued; the secret is in this answer only", body = CreatedView),
              (status = 409, description = "the token is revoked or expired", body = ErrorView),
              (status = 422, description = "the policy module refused to issue it (SPEC §6 reasons)", body = ErrorView)))]
async fn rotate_token(
    State(app): State<App>,
    P(path): P<TokenPath>,
    caller: Caller,
    JsonBody(body): JsonBody<RotateBody>,
) -> Result<Response, ApiError> {
    let expires = expires_at(body.expires_at)?;
    let created = blocking(&app, move |s| s.rotate_token(&path.id, expires, &caller)).await?;
    Ok((StatusCode::CREATED, Json(CreatedView::of(&created))).into_response())
}

/// What an edge runtime needs to answer checks on its own (SPEC §8), or what changed since the
/// version it holds (`docs/edge.md`).
#[utoipa::path(get, path = "/edge/snapshot", tag = ADMIN, params(SnapshotParams),
    responses((status = 200, description = "the snapshot, or the changes since `since`", body = Object)))]
async fn edge_snapshot(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    q: QueryOf<SnapshotParams>,
) -> Result<Response, ApiError> {
    caller.may(Action::ReadSnapshot, None)?;
    let since = query(q)?.since;
    if since.is_some_and(|s| s < 0) {
        return Err(ApiError::InvalidQuery(
            "since must be a version, 0 or more".into(),
        ));
    }
    let gzip = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(crate::edge::accepts_gzip);
    let body = blocking(&app, move |s| {
        let json = crate::edge::snapshot(s, since)?;
        Ok(if gzip {
            crate::edge::gzip(json.as_bytes())
        } else {
            json.into_bytes()
        })
    })
    .await?;
    // Fresh on every fetch: a cached copy would keep a revoked token alive past its refresh.
    let mut response = (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_TYPE, "application/json"),
            (header::VARY, "accept-encoding"),
        ],
        body,
    )
        .into_response();
    if gzip {
        response.headers_mut().insert(
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static("gzip"),
        );
    }
    Ok(response)
}

/// The policy module in force.
#[utoipa::path(get, path = "/policy", tag = ADMIN,
    responses((status = 200, description = "the module in force", body = crate::runtime::PolicyInfo)))]
async fn policy_info(
    State(app): State<App>,
    caller: Caller,
) -> Result<Json<crate::runtime::PolicyInfo>, ApiError> {
    caller.may(Action::Read, None)?;
    Ok(Json(app.policy()?.info()))
}

/// Load the policy module again from its file.
///
/// A module that fails to load leaves the previous one in force.
#[utoipa::path(post, path = "/policy/reload", tag = ADMIN,
    request_body(content = Option<ReloadBody>, description = "may be left out"),
    responses((status = 200, description = "the module in force", body = crate::runtime::PolicyInfo),
              (status = 409, description = "the module in place is not the one pinned", body = ErrorView),
              (status = 422, description = "the module in place cannot be used", body = ErrorView)))]
async fn policy_reload(
    State(app): State<App>,
    caller: Caller,
    JsonBody(body): JsonBody<ReloadBody>,
) -> Result<Json<crate::runtime::PolicyInfo>, ApiError> {
    caller.may(Action::ReloadPolicy, None)?;
    let info = blocking(&app, move |s| {
        s.policy()?.reload(body.sha256.map(|d| d.0)).map_err(|e| {
            tracing::error!(error = %e, "policy reload refused; the previous module stays in force");
            ApiError::PolicyLoad(e)
        })
    })
    .await?;
    tracing::info!(sha256 = %info.sha256, "policy module reloaded");
    Ok(Json(info))
}

/// Create an admin credential (owners only); the secret is in this answer only.
#[utoipa::path(post, path = "/credentials", tag = ADMIN, request_body = CredentialBody,
    responses((status = 201, description = "created; the secret is in this answer only", body = CredentialCreatedView),
              (status = 403, description = "only an owner manages credentials", body = ErrorView),
              (status = 404, description = "the workspace named does not exist", body = ErrorView),
              (status = 422, description = "the role cannot be bound so, or the expiry is past (`invalid_role_binding`)", body = ErrorView)))]
async fn create_credential(
    State(app): State<App>,
    caller: Caller,
    JsonBody(body): JsonBody<CredentialBody>,
) -> Result<Response, ApiError> {
    let req = CredentialRequest {
        name: body.name,
        role: body.role,
        workspace: body.workspace.map(|w| w.0),
        expires_at: expires_at(body.expires_at)?,
    };
    if let Some(w) = &req.workspace {
        check_slug(w, NameKind::Workspace)?;
    }
    let created = blocking(&app, move |s| s.create_credential(req, &caller)).await?;
    Ok((
        StatusCode::CREATED,
        Json(CredentialCreatedView::of(&created)),
    )
        .into_response())
}

/// A page of the admin credentials, revoked ones included, oldest first (metadata only).
#[utoipa::path(get, path = "/credentials", tag = ADMIN, params(CredentialPageParams),
    responses((status = 200, description = "a page of credentials, metadata only", body = CredentialList)))]
async fn list_credentials(
    State(app): State<App>,
    caller: Caller,
    q: QueryOf<CredentialPageParams>,
) -> Result<Json<CredentialList>, ApiError> {
    let p = query(q)?;
    let page = page_request(p.limit, p.cursor, Order::OldestFirst)?;
    let limit = page.limit;
    let list = blocking(&app, move |s| s.list_credentials(&page, &caller)).await?;
    Ok(Json(CredentialList::of(list, limit, |c| {
        CredentialView::of(&c)
    })))
}

/// Revoke an admin credential (idempotent); it stops working on every host at once.
#[utoipa::path(delete, path = "/credentials/{id}", tag = ADMIN, params(CredentialPath),
    responses((status = 204, description = "revoked"),
              (status = 403, description = "only an owner manages credentials", body = ErrorView)))]
async fn revoke_credential(
    State(app): State<App>,
    P(path): P<CredentialPath>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    blocking(&app, move |s| s.revoke_credential(&path.id, &caller)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit log, newest first, with filters and a cursor.
#[utoipa::path(get, path = "/audit", tag = ADMIN, params(AuditParams),
    responses((status = 200, description = "a page of entries", body = AuditPage)))]
async fn read_audit(
    State(app): State<App>,
    caller: Caller,
    params: QueryOf<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    let p = query(params)?;
    let query = audit_query(p)?;
    let limit = query.limit;
    let records = blocking(&app, move |s| s.audit(query, &caller)).await?;
    let next_cursor = (records.len() == limit)
        .then(|| records.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(Json(AuditPage {
        values: records.iter().map(AuditView::of).collect(),
        next_cursor,
    }))
}

/// The store's query for the API's parameters; each one that can't be read is a 400.
fn audit_query(p: AuditParams) -> Result<AuditQuery, ApiError> {
    if let Some(w) = &p.workspace {
        check_slug(&w.0, NameKind::Workspace)?;
    }
    let since = p
        .since
        .map(|s| {
            clock::parse_rfc3339(&s).ok_or_else(|| {
                ApiError::InvalidQuery(format!("since {s:?} is not an RFC 3339 date-time"))
            })
        })
        .transpose()?;
    let before_id = p
        .cursor
        .map(|c| {
            c.parse::<i64>()
                .ok()
                .filter(|&id| id > 0)
                .ok_or_else(|| ApiError::InvalidQuery(format!("cursor {c:?} is not a cursor")))
        })
        .transpose()?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
        return Err(ApiError::InvalidQuery(format!(
            "limit must be 1 to {MAX_AUDIT_PAGE}"
        )));
    }
    Ok(AuditQuery {
        workspace: p.workspace.map(|w| w.0),
        token_id: p.token_id,
        event: p.event,
        since,
        before_id,
        limit,
    })
}
