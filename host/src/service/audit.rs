//! Reading the audit log, within what the caller's role may see.

use super::roles::{Action, Caller};
use super::Service;
use crate::error::ApiError;
use crate::store::{AuditQuery, AuditRecord};

impl Service {
    /// A page of the audit log, newest first. A workspace-bound auditor reads its own
    /// workspace's entries, whether or not it names it.
    pub fn audit(
        &self,
        mut query: AuditQuery,
        caller: &Caller,
    ) -> Result<Vec<AuditRecord>, ApiError> {
        if query.workspace.is_none() {
            query.workspace.clone_from(&caller.workspace);
        }
        caller.may(Action::ReadAudit, query.workspace.as_deref())?;
        // Denied checks counted so far are written first, so that a read sees them.
        self.flush_usage(true);
        Ok(self.store.audit(&query)?)
    }
}
