//! Whether a token may be issued (§6). Pure: the host supplies the plan, the workspace's token
//! policy and the clock.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use crate::claims::{Binding, TokenKind};
use crate::input::{binding, clip};
use crate::json::Malformed;
use crate::lenient::{read_json, skip, value, Entries, Fields, Flag, Int, List, Object, Text};
use crate::scope::Scope;
use crate::wire::{self, write_text, Answer, Sink};

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
    pub binding: Binding<'a>,
    pub name: Cow<'a, str>,
    pub scopes: Vec<Cow<'a, str>>,
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

impl IssueOutcome {
    /// The wire form, byte for byte what serde writes (a test holds the two together). Written
    /// by hand so that the module carries no serializer beside its own writer.
    pub fn to_json(&self) -> Vec<u8> {
        wire::to_vec(self)
    }
}

impl Answer for IssueOutcome {
    fn write(&self, out: &mut impl Sink) {
        out.put(match self.ok {
            true => br#"{"ok":true"#,
            false => br#"{"ok":false"#,
        });
        if let Some(refusal) = &self.refusal {
            out.put(br#","reason":""#);
            out.put(refusal.reason.code().as_bytes());
            out.put(br#"","message":"#);
            write_text(out, &refusal.message);
        }
        out.put(b"}");
    }
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
    // Through the text form, so values and text have one reader.
    let text = serde_json::json!({"request": request, "context": context}).to_string();
    check_issue_json(text.as_bytes())
}

/// `sg_check_issue`: JSON text of `{"request": …, "context": …}`. Text that is not JSON, or
/// that repeats a key in any of its objects, is `bad_input` ("the request is not an object"):
/// nothing of it is read.
pub fn check_issue_json(input: &[u8]) -> IssueOutcome {
    match read_json::<Object<CheckFields>>(input) {
        Some(Object::Fields(check)) => outcome(
            check.request.unwrap_or(Object::Other),
            check.context.unwrap_or(Object::Other),
        ),
        _ => outcome(Object::Other, Object::Other),
    }
}

fn outcome(request: Object<RequestFields<'_>>, context: Object<ContextFields<'_>>) -> IssueOutcome {
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

#[derive(Default)]
struct CheckFields<'a> {
    request: Option<Object<RequestFields<'a>>>,
    context: Option<Object<ContextFields<'a>>>,
}

impl<'de> Fields<'de> for CheckFields<'de> {
    fn field(&mut self, key: &str, map: &mut Entries<'de, '_>) -> Result<(), Malformed> {
        match key {
            "request" => self.request = Some(value(map)?),
            "context" => self.context = Some(value(map)?),
            _ => skip(map)?,
        }
        Ok(())
    }
}

#[derive(Default)]
struct RequestFields<'a> {
    kind: Option<Text<'a>>,
    workspace: Option<Text<'a>>,
    project: Option<Text<'a>>,
    repository: Option<Text<'a>>,
    name: Option<Text<'a>>,
    scopes: Option<List<Text<'a>>>,
    expires_at: Option<Int>,
}

impl<'de> Fields<'de> for RequestFields<'de> {
    fn field(&mut self, key: &str, map: &mut Entries<'de, '_>) -> Result<(), Malformed> {
        match key {
            "kind" => self.kind = Some(value(map)?),
            "workspace" => self.workspace = Some(value(map)?),
            "project" => self.project = Some(value(map)?),
            "repository" => self.repository = Some(value(map)?),
            "name" => self.name = Some(value(map)?),
            "scopes" => self.scopes = Some(value(map)?),
            "expires_at" => self.expires_at = Some(value(map)?),
            _ => skip(map)?,
        }
        Ok(())
    }
}

#[derive(Default)]
struct ContextFields<'a> {
    plan: Option<Text<'a>>,
    now: Option<Int>,
    max_lifetime_days: Option<Int>,
    allow_no_expiry: Option<Flag>,
}

impl<'de> Fields<'de> for ContextFields<'de> {
    fn field(&mut self, key: &str, map: &mut Entries<'de, '_>) -> Result<(), Malformed> {
        match key {
            "plan" => self.plan = Some(value(map)?),
            "now" => self.now = Some(value(map)?),
            "max_lifetime_days" => self.max_lifetime_days = Some(value(map)?),
            "allow_no_expiry" => self.allow_no_expiry = Some(value(map)?),
            _ => skip(map)?,
        }
        Ok(())
    }
}

fn parse_request(
    request: Object<RequestFields<'_>>,
) -> Result<IssueRequest<'_>, Cow<'static, str>> {
    let Object::Fields(fields) = request else {
        return Err(Cow::Borrowed("the request is not an object"));
    };
    let kind = match &fields.kind {
        Some(Text::Str(kind)) => TokenKind::parse(kind),
        _ => None,
    }
    .ok_or("'kind' is not repository, project or workspace")?;
    let binding = binding(kind, fields.workspace, fields.project, fields.repository)?;
    let Some(Text::Str(name)) = fields.name else {
        return Err(Cow::Borrowed("'name' is not a string"));
    };
    let Some(List::Items(items)) = fields.scopes else {
        return Err(Cow::Borrowed("'scopes' is not an array"));
    };
    let scopes = items
        .into_iter()
        .map(|item| match item {
            Text::Str(scope) => Ok(scope),
            _ => Err("'scopes' holds a value that is not a string"),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let expires_at = match fields.expires_at {
        None | Some(Int::Null) => None,
        Some(Int::Value(at)) => Some(at),
        Some(Int::Other) => {
            return Err(Cow::Borrowed("'expires_at' is neither an integer nor null"))
        }
    };
    Ok(IssueRequest {
        binding,
        name,
        scopes,
        expires_at,
    })
}

fn parse_context(context: Object<ContextFields<'_>>) -> Result<IssueContext, Cow<'static, str>> {
    let Object::Fields(fields) = context else {
        return Err(Cow::Borrowed("the context is not an object"));
    };
    let plan = match &fields.plan {
        Some(Text::Str(plan)) => Plan::parse(plan),
        _ => None,
    }
    .ok_or("'plan' is not free, standard or premium")?;
    let Some(Int::Value(now)) = fields.now else {
        return Err(Cow::Borrowed("'now' is not an integer"));
    };
    let max_lifetime = match fields.max_lifetime_days {
        None | Some(Int::Null) => MaxLifetime::Days365,
        Some(Int::Value(days)) => {
            MaxLifetime::from_days(days).ok_or("'max_lifetime_days' is not 90, 180 or 365")?
        }
        Some(Int::Other) => return Err(Cow::Borrowed("'max_lifetime_days' is not an integer")),
    };
    let allow_no_expiry = match fields.allow_no_expiry {
        None | Some(Flag::Null) => false,
        Some(Flag::Bool(allow)) => allow,
        Some(Flag::Other) => return Err(Cow::Borrowed("'allow_no_expiry' is not a boolean")),
    };
    Ok(IssueContext {
        plan,
        now,
        max_lifetime,
        allow_no_expiry,
    })
}
