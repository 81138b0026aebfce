//! The OpenAPI 3.1 document of the host's HTTP interface, served at `/admin/v1/openapi.json`
//! and written to `docs/openapi.json` (`cargo xtask openapi`).
//!
//! It is built from the handlers themselves: each admin handler's `#[utoipa::path]` and the
//! types it extracts and answers, registered with the route by [`super::admin::routes`], which
//! the router uses too. What every admin call can answer besides its own success (no key, a bad
//! name, a store that is down) is added here by rule, in [`CommonAnswers`], rather than on
//! forty handlers by hand.
//!
//! `/check`'s answers are the policy module's, worded in `core`; their schemas below describe
//! them for readers and generators, and the suite's schemathesis run holds the module's real
//! answers to them.

use super::bodies::{
    IssueBody, LifetimeDays, ProjectBody, ReloadBody, RepositoryBody, RotateBody, TransferBody,
    WorkspaceBody,
};
use super::views::{
    CreatedView, ErrorDetail, ErrorType, ErrorView, TokenList, TokenView, WorkspaceDetail,
    WorkspaceList,
};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, HeaderBuilder, OpenApi as Document, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

/// Where the admin API is mounted.
pub const ADMIN_BASE: &str = "/admin/v1";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "scopegate",
        description = "Narrow, revocable access tokens for a Bitbucket-style API: the forward-auth \
                       check and the admin API of one scopegate host.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(super::check::check, super::metrics_text, serve, super::oauth::revoke,
          super::oauth::introspect, super::oauth::leaks),
    components(schemas(
        ErrorView, ErrorType, ErrorDetail, TokenView, TokenList, CreatedView, WorkspaceList,
        WorkspaceDetail, WorkspaceBody, LifetimeDays, ProjectBody, RepositoryBody, TransferBody,
        IssueBody, RotateBody, ReloadBody, CheckAllow, CheckDenial, CheckDenialError,
        CheckDenialDetail, super::oauth::OAuthError, super::oauth::RevokeForm,
        super::oauth::IntrospectForm, super::oauth::Introspection, super::oauth::LeakReport,
        super::oauth::LeakReceipt
    )),
    tags(
        (name = "check", description = "Forward authentication (SPEC §9): nginx `auth_request`, \
                                        Caddy `forward_auth`, Traefik ForwardAuth, Envoy."),
        (name = "metrics", description = "Prometheus metrics."),
        (name = "oauth", description = "Leak response (SPEC §12): RFC 7009 revocation and RFC \
                                        7662 introspection, and the public leak report."),
        (name = "admin", description = "Resources and tokens, behind `Authorization: Bearer \
                                        <admin key>`."),
    )
)]
struct Described;

/// The whole document: `/check`, this document, and the admin API under [`ADMIN_BASE`].
pub fn document() -> Document {
    let (_, admin) = super::admin::routes().split_for_parts();
    let mut doc = Described::openapi().nest(ADMIN_BASE, admin);
    CommonAnswers.modify(&mut doc);
    doc
}

/// The document as served and as written to `docs/openapi.json`.
pub fn document_json() -> String {
    // Serialising a document of plain maps and strings cannot fail; an empty answer would be
    // refused by every reader, never taken for a smaller API.
    let mut text = document().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

/// This document. It is open to anyone, as the repository's copy is: it names operations and
/// shapes, never a resource or a token.
#[utoipa::path(get, path = "/admin/v1/openapi.json", tag = "admin",
    responses((status = 200, description = "this document", content_type = "application/json",
               body = Object)))]
pub async fn serve() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
        .into_response()
}

/// What every admin operation may answer besides its own success, added by rule: the admin
/// key's challenge, a name no resource can have, a missing resource, a body that is not the
/// operation's, and the store or module failing.
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "access_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An access token (SPEC §7)."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "access_token_basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "An access token as the password of the user `x-token-auth`, as git sends it.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "admin_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin key (`SCOPEGATE_ADMIN_KEY`, or the one `serve` printed once).",
                    ))
                    .build(),
            ),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            if path == "/check" {
                // One handler answers every method; each method is its own operation.
                for (method, op) in [
                    ("get", &mut item.get),
                    ("put", &mut item.put),
                    ("post", &mut item.post),
                    ("delete", &mut item.delete),
                    ("options", &mut item.options),
                    ("head", &mut item.head),
                    ("patch", &mut item.patch),
                    ("trace", &mut item.trace),
                ] {
                    if let Some(op) = op {
                        op.operation_id = Some(format!("check_{method}"));
                    }
                }
            }
            if !path.starts_with(ADMIN_BASE) || path.ends_with("/openapi.json") {
                continue;
            }
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                add_common(op);
            }
        }
    }
}

fn error(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name(ErrorView::name()))),
        )
        .build()
}

fn add_common(op: &mut Operation) {
    op.security = Some(vec![SecurityRequirement::new(
        "admin_key",
        Vec::<String>::new(),
    )]);
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_body = op.request_body.is_some();
    let answers = &mut op.responses.responses;
    let mut add = |status: &str, response: utoipa::openapi::Response| {
        answers.entry(status.to_string()).or_insert(response.into());
    };
    if has_params || has_body {
        add(
            "400",
            error("a name no resource can have, or a body that is not this operation's"),
        );
    }
    let challenge = ResponseBuilder::new()
        .description("no admin key, or not a valid one")
        .header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(Some(String::schema()))
                .description(Some("`Bearer realm=\"scopegate admin\"`"))
                .build(),
        )
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name(ErrorView::name()))),
        )
        .build();
    add("401", challenge);
    if has_params {
        add("404", error("the named resource or token does not exist"));
    }
    if has_body {
        add("413", error("a body over 64 KiB"));
    }
    add("500", error("the store or the policy module failed"));
    add(
        "503",
        error("the store is unreachable; nothing was changed"),
    );
}

use utoipa::PartialSchema;

// ---- `/check`'s answers, as the module words them (SPEC §9) ----------------------------------

/// An allow: the operation the request was matched to.
#[derive(Serialize, ToSchema)]
pub struct CheckAllow {
    #[schema(schema_with = always_true)]
    pub allow: bool,
    /// `allowed`.
    pub reason: String,
    /// The route-table operation the request was matched to.
    pub operation: Option<String>,
}

fn always_true() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Boolean)
        .enum_values(Some([true]))
        .into()
}

/// A denial, in Bitbucket's error shape with why and what was missing.
#[derive(Serialize, ToSchema)]
pub struct CheckDenial {
    pub r#type: ErrorType,
    pub error: CheckDenialError,
}

#[derive(Serialize, ToSchema)]
pub struct CheckDenialError {
    pub message: String,
    pub detail: CheckDenialDetail,
}

#[derive(Serialize, ToSchema)]
pub struct CheckDenialDetail {
    /// A reason code of SPEC §5 or §9.
    pub reason: String,
    /// The scopes the operation needs.
    pub required: Vec<String>,
    /// The token's effective scopes.
    pub granted: Vec<String>,
}
