//! The access report: every guarded handler, its requirement, and the roles in the live
//! database that satisfy it.

use serde::Serialize;

use crate::access::{self, AccessSpec, Requirement};
use crate::db::DbConn;
use crate::error::Result;
use crate::rbac::query::role_table;

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    /// `module::handler`.
    pub handler: String,
    /// The requirement, e.g. `permission all(article.edit, article.publish)`.
    pub requirement: String,
    /// The path parameter naming the scope, if the check is scoped.
    pub scope_param: Option<String>,
    /// Roles whose holders pass (superusers always pass; `login` needs no role).
    pub roles: Vec<String>,
    /// Whether a second factor is required (`mfa`).
    pub mfa: bool,
    /// The freshness the session needs, in seconds (`fresh = ".."`).
    pub fresh_secs: Option<u64>,
}

/// The report for the guards compiled into this program.
pub async fn access_report(conn: &mut DbConn) -> Result<Vec<ReportRow>> {
    report_for(conn, &access::registered()).await
}

/// The report for the given guards.
pub async fn report_for(conn: &mut DbConn, specs: &[&AccessSpec]) -> Result<Vec<ReportRow>> {
    let roles = role_table(conn).await?;
    Ok(specs
        .iter()
        .map(|spec| ReportRow {
            handler: format!("{}::{}", spec.module, spec.handler),
            requirement: spec.requirement.to_string(),
            scope_param: spec.scope_param.map(str::to_owned),
            roles: roles
                .iter()
                .filter(|(_, grants)| match spec.requirement {
                    Requirement::Login => false,
                    Requirement::Permission(rule) => rule.eval(&|code| grants.has_permission(code)),
                    Requirement::Role(names) => names.iter().any(|n| grants.has_role(n)),
                })
                .map(|(name, _)| name.clone())
                .collect(),
            mfa: spec.mfa,
            fresh_secs: spec.fresh_secs,
        })
        .collect())
}

/// The report as aligned text, one handler per line.
pub fn render(rows: &[ReportRow]) -> String {
    let width = rows.iter().map(|r| r.handler.len()).max().unwrap_or(0);
    let mut out = String::new();
    for row in rows {
        let scope = row
            .scope_param
            .as_deref()
            .map(|p| format!(" in scope {{{p}}}"))
            .unwrap_or_default();
        let roles = if row.requirement == "login" {
            "any logged-in user".to_owned()
        } else if row.roles.is_empty() {
            "superusers only".to_owned()
        } else {
            format!("{} (and superusers)", row.roles.join(", "))
        };
        let mut session = String::new();
        if row.mfa {
            session.push_str(" + mfa");
        }
        if let Some(seconds) = row.fresh_secs {
            session.push_str(&format!(" + fresh {seconds}s"));
        }
        out.push_str(&format!(
            "{:<width$}  {}{}{}  ->  {}\n",
            row.handler, row.requirement, scope, session, roles
        ));
    }
    out
}
