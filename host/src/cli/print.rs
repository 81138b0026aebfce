//! The CLI's output: aligned tables and fields for a person, one JSON value with `--json`.

use crate::http::views::{
    AuditView, CreatedView, CredentialCreatedView, CredentialView, TokenView,
};
use serde::Serialize;

/// One secret `scan` found: what `--json` prints of it, and more for a person.
#[derive(Serialize)]
pub(super) struct FindingView {
    pub location: String,
    pub token_id: Option<String>,
    /// `active`, `revoked`, `expired`, `deactivated` or `unknown`, as found (before `--revoke`).
    pub state: &'static str,
    pub revoked_now: bool,
    #[serde(skip)]
    pub name: Option<String>,
    /// The secret's first 12 characters: enough to tell it apart, too few to use it.
    #[serde(skip)]
    pub secret_start: String,
}

/// One finding a line: location, id, name, state, the secret's start.
pub(super) fn print_findings(findings: &[FindingView]) {
    for f in findings {
        // The name is quoted (and escaped): a name with spaces or control characters keeps
        // each finding on one line of whole fields.
        println!(
            "{}  {}  {}  {}  {}…{}",
            f.location,
            f.token_id.as_deref().unwrap_or("-"),
            f.name.as_ref().map_or("-".into(), |n| format!("{n:?}")),
            f.state,
            f.secret_start,
            if f.revoked_now { "  revoked now" } else { "" }
        );
    }
}

pub(super) fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_uppercase()).collect());
    for row in rows {
        line(row.clone());
    }
}

pub(super) fn print_fields(fields: &[(&str, String)]) {
    let w = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in fields {
        println!("{k:<w$}  {v}");
    }
}

/// `value` as JSON with `--json`, else what `human` prints.
pub(super) fn out<T: Serialize>(json: bool, value: &T, human: impl FnOnce()) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    } else {
        human();
    }
}

pub(super) fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "-".into())
}

pub(super) fn print_tokens(tokens: &[TokenView]) {
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            vec![
                t.id.clone(),
                t.name.clone(),
                t.kind.as_str().into(),
                t.project
                    .clone()
                    .or_else(|| t.repository.clone())
                    .unwrap_or_else(|| "-".into()),
                t.scopes.join(","),
                t.state.as_str().into(),
                opt(&t.expires_at),
                opt(&t.last_accessed_at),
            ]
        })
        .collect();
    print_table(
        &[
            "id",
            "name",
            "kind",
            "bound_to",
            "scopes",
            "state",
            "expires_at",
            "last_accessed_at",
        ],
        &rows,
    );
}

pub(super) fn print_token(t: &TokenView) {
    print_fields(&[
        ("id", t.id.clone()),
        ("name", t.name.clone()),
        ("kind", t.kind.as_str().into()),
        ("workspace", t.workspace.clone()),
        ("project", opt(&t.project)),
        ("repository", opt(&t.repository)),
        ("scopes", t.scopes.join(", ")),
        ("state", t.state.as_str().into()),
        ("created_at", t.created_at.clone()),
        ("expires_at", opt(&t.expires_at)),
        ("last_accessed_at", opt(&t.last_accessed_at)),
        (
            "last_used_ips",
            if t.last_used_ips.is_empty() {
                "-".into()
            } else {
                t.last_used_ips
                    .iter()
                    .map(|u| format!("{} ({})", u.ip, u.at))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
        ("revoked_at", opt(&t.revoked_at)),
    ])
}

pub(super) fn print_credentials(list: &[CredentialView]) {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                c.name.clone(),
                c.role.as_str().into(),
                opt(&c.workspace),
                c.created_at.clone(),
                opt(&c.expires_at),
                opt(&c.revoked_at),
            ]
        })
        .collect();
    print_table(
        &[
            "id",
            "name",
            "role",
            "workspace",
            "created_at",
            "expires_at",
            "revoked_at",
        ],
        &rows,
    );
}

pub(super) fn show_created_credential(json: bool, c: &CredentialCreatedView) {
    out(json, c, || {
        print_fields(&[
            ("id", c.id.clone()),
            ("credential", c.credential.clone()),
            ("name", c.name.clone()),
            ("role", c.role.as_str().into()),
            ("workspace", opt(&c.workspace)),
            ("created_at", c.created_at.clone()),
            ("expires_at", opt(&c.expires_at)),
        ]);
        eprintln!("The credential is shown only now; store it securely.");
    });
}

pub(super) fn print_audit(entries: &[AuditView]) {
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.id.clone(),
                e.at.clone(),
                e.actor.clone(),
                e.event.as_str().into(),
                opt(&e.workspace),
                opt(&e.subject),
                e.detail.to_string(),
            ]
        })
        .collect();
    print_table(
        &[
            "id",
            "at",
            "actor",
            "event",
            "workspace",
            "subject",
            "detail",
        ],
        &rows,
    );
}

pub(super) fn show_created(json: bool, c: &CreatedView) {
    out(json, c, || {
        print_fields(&[
            ("id", c.id.clone()),
            ("token", c.token.clone()),
            ("name", c.name.clone()),
            ("kind", c.kind.as_str().into()),
            ("scopes", c.scopes.join(", ")),
            ("created_at", c.created_at.clone()),
            ("expires_at", opt(&c.expires_at)),
        ]);
        eprintln!("The token is shown only now; store it securely.");
    });
}
