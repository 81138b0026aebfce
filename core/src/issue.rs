//! Whether a token may be issued (§6). Pure: the host supplies the plan, the workspace's token
//! policy and the clock.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::claims::{Binding, TokenKind};
use crate::input::{clip, parse_binding};
use crate::scope::Scope;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueReason {
    BadInput,
    NameInvalid,
    NoScopes,
    UnknownScope,
    ScopeNotAllowedForKind,
    PlanRequired,
    ExpiryRequired,
    ExpiryInPast,
    ExpiryTooFar,
}

impl IssueReason {
    pub const fn code(self) -> &'static str {
        match self {
            IssueReason::BadInput => "bad_input",
            IssueReason::NameInvalid => "name_invalid",
            IssueReason::NoScopes => "no_scopes",
            IssueReason::UnknownScope => "unknown_scope",
            IssueReason::ScopeNotAllowedForKind => "scope_not_allowed_for_kind",
            IssueReason::PlanRequired => "plan_required",
            IssueReason::ExpiryRequired => "expiry_required",
            IssueReason::ExpiryInPast => "expiry_in_past",
            IssueReason::ExpiryTooFar => "expiry_too_far",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    Free,
    Standard,
    Premium,
}

impl Plan {
    pub fn parse(name: &str) -> Option<Plan> {
        match name {
            "free" => Some(Plan::Free),
            "standard" => Some(Plan::Standard),
            "premium" => Some(Plan::Premium),
            _ => None,
        }
    }
}

/// The longest lifetimes a workspace may allow (§1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxLifetime {
    Days90,
    Days180,
    Days365,
}

impl MaxLifetime {
    pub fn from_days(days: i64) -> Option<MaxLifetime> {
        match days {
            90 => Some(MaxLifetime::Days90),
            180 => Some(MaxLifetime::Days180),
            365 => Some(MaxLifetime::Days365),
            _ => None,
        }
    }

    pub const fn seconds(self) -> i64 {
        let days = match self {
            MaxLifetime::Days90 => 90,
            MaxLifetime::Days180 => 180,
            MaxLifetime::Days365 => 365,
        };
        days * 86_400
    }
}

/// What the requester asks for. Scopes stay strings here: naming an unknown one is a §6 answer,
/// not malformed input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueRequest<'a> {
    pub binding: Binding,
    pub name: &'a str,
    pub scopes: Vec<&'a str>,
    pub expires_at: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IssueContext {
    pub plan: Plan,
    pub now: i64,
    pub max_lifetime: MaxLifetime,
    pub allow_no_expiry: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IssueRefusal {
    pub reason: IssueReason,
    pub message: Cow<'static, str>,
}

const MAX_NAME_CHARS: usize = 255;

/// The §6 checks, in the contract's order.
pub fn check_issue(request: &IssueRequest<'_>, context: &IssueContext) -> Result<(), IssueRefusal> {
    let refuse = |reason, message: Cow<'static, str>| Err(IssueRefusal { reason, message });
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return refuse(
            IssueReason::NameInvalid,
            "the name must have 1 to 255 characters besides surrounding white space".into(),
        );
    }
    if request.scopes.is_empty() {
        return refuse(
            IssueReason::NoScopes,
            "a token needs at least one scope".into(),
        );
    }
    let kind = request.binding.kind();
    let mut scopes = Vec::with_capacity(request.scopes.len());
    for name in &request.scopes {
        match Scope::parse(name) {
            Some(scope) => scopes.push(scope),
            None => {
                return refuse(
                    IssueReason::UnknownScope,
                    format!("unknown scope '{}'", clip(name)).into(),
                )
            }
        }
    }
    if let Some(scope) = scopes.iter().find(|s| !s.grantable_to(kind)) {
        return refuse(
            IssueReason::ScopeNotAllowedForKind,
            format!("a {} token cannot hold '{scope}'", kind.as_str()).into(),
        );
    }
    if kind != TokenKind::Repository && context.plan != Plan::Premium {
        return refuse(
            IssueReason::PlanRequired,
            format!(
                "{} tokens need a workspace on the premium plan",
                kind.as_str()
            )
            .into(),
        );
    }
    let Some(expires_at) = request.expires_at else {
        if context.allow_no_expiry {
            return Ok(());
        }
        return refuse(
            IssueReason::ExpiryRequired,
            "this workspace requires tokens to expire".into(),
        );
    };
    if expires_at <= context.now {
        return refuse(
            IssueReason::ExpiryInPast,
            "the expiry is not in the future".into(),
        );
    }
    if expires_at > context.now.saturating_add(context.max_lifetime.seconds()) {
        return refuse(
            IssueReason::ExpiryTooFar,
            format!(
                "the expiry is more than {} days away",
                context.max_lifetime.seconds() / 86_400
            )
            .into(),
        );
    }
    Ok(())
}

/// The wire answer of `checkIssue`: `{ok: true}` or `{ok: false, reason, message}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IssueOutcome {
    pub ok: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<IssueRefusal>,
}

impl From<Result<(), IssueRefusal>> for IssueOutcome {
    fn from(result: Result<(), IssueRefusal>) -> Self {
        IssueOutcome {
            ok: result.is_ok(),
            refusal: result.err(),
        }
    }
}

/// `checkIssue` on JSON values. Structural problems are `bad_input`.
pub fn check_issue_value(request: &Value, context: &Value) -> IssueOutcome {
    let parsed = parse_request(request).and_then(|r| Ok((r, parse_context(context)?)));
    match parsed {
        Ok((request, context)) => check_issue(&request, &context).into(),
        Err(message) => Err(IssueRefusal {
            reason: IssueReason::BadInput,
            message,
        })
        .into(),
    }
}

fn parse_request(value: &Value) -> Result<IssueRequest<'_>, Cow<'static, str>> {
    let map = value.as_object().ok_or("the request is not an object")?;
    let kind = map
        .get("kind")
        .and_then(Value::as_str)
        .and_then(TokenKind::parse)
        .ok_or("'kind' is not repository, project or workspace")?;
    let binding = parse_binding(map, kind)?;
    let name = map
        .get("name")
        .and_then(Value::as_str)
        .ok_or("'name' is not a string")?;
    let scopes = map
        .get("scopes")
        .and_then(Value::as_array)
        .ok_or("'scopes' is not an array")?
        .iter()
        .map(|s| {
            s.as_str()
                .ok_or("'scopes' holds a value that is not a string")
        })
        .collect::<Result<Vec<_>, _>>()?;
    let expires_at = optional(map, "expires_at", Value::as_i64)
        .ok_or("'expires_at' is neither an integer nor null")?;
    Ok(IssueRequest {
        binding,
        name,
        scopes,
        expires_at,
    })
}

fn parse_context(value: &Value) -> Result<IssueContext, Cow<'static, str>> {
    let map = value.as_object().ok_or("the context is not an object")?;
    let plan = map
        .get("plan")
        .and_then(Value::as_str)
        .and_then(Plan::parse)
        .ok_or("'plan' is not free, standard or premium")?;
    let now = map
        .get("now")
        .and_then(Value::as_i64)
        .ok_or("'now' is not an integer")?;
    let max_lifetime = match optional(map, "max_lifetime_days", Value::as_i64)
        .ok_or("'max_lifetime_days' is not an integer")?
    {
        None => MaxLifetime::Days365,
        Some(days) => {
            MaxLifetime::from_days(days).ok_or("'max_lifetime_days' is not 90, 180 or 365")?
        }
    };
    let allow_no_expiry = optional(map, "allow_no_expiry", Value::as_bool)
        .ok_or("'allow_no_expiry' is not a boolean")?
        .unwrap_or(false);
    Ok(IssueContext {
        plan,
        now,
        max_lifetime,
        allow_no_expiry,
    })
}

/// An optional field: `Some(None)` when absent or null, `None` when present with the wrong type.
fn optional<'v, T>(
    map: &'v Map<String, Value>,
    field: &str,
    read: impl Fn(&'v Value) -> Option<T>,
) -> Option<Option<T>> {
    match map.get(field) {
        None | Some(Value::Null) => Some(None),
        Some(v) => read(v).map(Some),
    }
}
