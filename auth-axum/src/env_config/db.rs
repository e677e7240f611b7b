//! The database variables (`AUTH_DB_*`): applied to a [`DatabaseConfig`] by
//! [`AuthConfig::database_config`].

use super::vars::*;
use super::*;

impl AuthConfig {
    pub(super) fn merge_db(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        vars.set(
            "AUTH_DB_QUERY_TIMEOUT",
            &mut self.db_query_timeout,
            duration,
        )?;
        Ok(())
    }

    /// The pool settings of `url` with these settings applied: the client-side deadline of
    /// a statement (`AUTH_DB_QUERY_TIMEOUT`, [`DatabaseConfig::query_timeout`]); pass it to
    /// [`auth_core::Database::with_config`].
    pub fn database_config(&self, url: impl Into<String>) -> DatabaseConfig {
        DatabaseConfig {
            query_timeout: Some(self.db_query_timeout),
            ..DatabaseConfig::new(url)
        }
    }
}
