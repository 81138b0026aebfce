//! The decision of §5, checked in the contract's order: the first check that fails is the answer.

use std::borrow::Cow;

use serde_json::Value;

use crate::decision::{Decision, Reason};
use crate::input::{clip, parse_authorize_json, AuthorizeInput, InputError};
use crate::path;
use crate::routes::{self, OperationClass, Resolution};
use crate::scope::{Scope, ScopeSet};
use crate::target::Reach;

/// Decides a policy input given as JSON text. Never panics: anything unreadable is `bad_input`.
pub fn authorize_json(input: &[u8]) -> Decision {
    decide_parsed(parse_authorize_json(input))
}

/// Decides a policy input given as a JSON value.
pub fn authorize_value(input: &Value) -> Decision {
    // Through the text form, so values and text have one reader.
    authorize_json(input.to_string().as_bytes())
}

fn decide_parsed(parsed: Result<AuthorizeInput<'_>, InputError>) -> Decision {
    match parsed {
        Ok(input) => authorize(&input),
        Err(error) => refusal(error),
    }
}

/// The decision of rows 1 and 2 for input that fails them.
pub(crate) fn refusal(error: InputError) -> Decision {
    match error {
        InputError::BadInput(why) => Decision::early(Reason::BadInput, why, ScopeSet::EMPTY),
        InputError::RepeatedKey(key) => {
            // The key as a JSON string, so that any character in it reads unambiguously; an owned
            // message is escaped again when the decision is written.
            // Escaped by the module's own writer: serde_json's would bring its number formatting.
            let mut message = b"the input repeats the key ".to_vec();
            crate::wire::write_text(&mut message, &key);
            let message = String::from_utf8(message).unwrap_or_default();
            Decision::early(Reason::BadInput, message, ScopeSet::EMPTY)
        }
        InputError::InvalidClaims(why) => {
            Decision::early(Reason::InvalidClaims, why, ScopeSet::EMPTY)
        }
    }
}

/// Rows 3–14 of §5, on input that passed rows 1 and 2.
pub fn authorize(input: &AuthorizeInput<'_>) -> Decision {
    let claims = &input.claims;
    let granted = claims.scopes.closure();
    if claims.revoked {
        return Decision::early(Reason::TokenRevoked, "the token has been revoked", granted);
    }
    if claims.expires_at.is_some_and(|at| input.now >= at) {
        return Decision::early(Reason::TokenExpired, "the token has expired", granted);
    }
    let parsed = match path::parse(&input.request.path) {
        Ok(parsed) => parsed,
        Err(err) => return Decision::early(Reason::BadPath, err.describe(), granted),
    };
    let (operation, target) = match routes::resolve(&input.request.method, &parsed) {
        Resolution::Web => {
            return Decision::early(
                Reason::WebLoginForbidden,
                "access tokens cannot sign in to the website",
                granted,
            )
        }
        Resolution::Unknown => {
            let message = format!(
                "no operation matches {} {}",
                clip(&input.request.method),
                clip(&input.request.path)
            );
            return Decision::early(Reason::UnknownOperation, message, granted);
        }
        Resolution::Matched { operation, target } => (operation, target),
    };
    let name = operation.name();
    let required = operation.required();
    let decide = |reason: Reason, message: Cow<'static, str>| {
        Decision::about(reason, message, name, required, granted)
    };
    match operation.class() {
        OperationClass::Forbidden => {
            return decide(
                Reason::ForbiddenOperation,
                Cow::Borrowed("this operation is closed to access tokens"),
            )
        }
        OperationClass::Public => {
            return decide(
                Reason::Allowed,
                Cow::Borrowed("public operation: any valid token may call it"),
            )
        }
        OperationClass::Normal => {}
    }
    let kind = claims.kind();
    match target.reach(&claims.binding, input.repository_project.as_deref()) {
        Reach::Within => {}
        Reach::Outside => {
            return decide(
                Reason::OutsideResource,
                Cow::Owned(format!(
                    "the {} is outside the token's {}",
                    target_noun(target.kind()),
                    kind.as_str()
                )),
            )
        }
        Reach::Unresolved => {
            return decide(
                Reason::UnresolvedRepository,
                Cow::Borrowed("a project token needs the project of the target repository"),
            )
        }
    }
    if let Some(scope) = required.iter().find(|s| !s.grantable_to(kind)) {
        return decide(
            Reason::ScopeNotGrantable,
            Cow::Owned(format!(
                "the operation needs '{scope}', which a {} token cannot hold",
                kind.as_str()
            )),
        );
    }
    let missing = required.minus(granted);
    if !missing.is_empty() {
        return decide(
            Reason::ScopeMissing,
            Cow::Owned(format!("the token lacks {}", list(missing))),
        );
    }
    decide(Reason::Allowed, Cow::Borrowed("allowed"))
}

fn target_noun(kind: crate::target::TargetKind) -> &'static str {
    use crate::target::TargetKind;
    match kind {
        TargetKind::Repository => "repository",
        TargetKind::Project => "project",
        TargetKind::Workspace => "workspace",
        TargetKind::Global => "account-wide resource",
    }
}

fn list(scopes: ScopeSet) -> String {
    scopes
        .iter()
        .map(Scope::as_str)
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
