//! The passkey variables (`AUTH_WEBAUTHN_*`).

use super::vars::*;
use super::*;

impl AuthConfig {
    #[cfg(not(feature = "passkeys"))]
    pub(super) fn merge_webauthn(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        match WEBAUTHN_VARIABLES
            .into_iter()
            .find(|name| vars.get(name).is_some())
        {
            Some(variable) => Err(EnvConfigError {
                variable,
                message: "passkeys need the \"passkeys\" Cargo feature of auth-axum, which this \
                          build leaves out"
                    .into(),
            }),
            None => Ok(()),
        }
    }

    #[cfg(feature = "passkeys")]
    pub(super) fn merge_webauthn(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        let Some(rp_id) = vars.get("AUTH_WEBAUTHN_RP_ID") else {
            if let Some(variable) = WEBAUTHN_VARIABLES
                .into_iter()
                .find(|name| vars.get(name).is_some())
            {
                return Err(EnvConfigError {
                    variable,
                    message: "needs AUTH_WEBAUTHN_RP_ID".into(),
                });
            }
            return Ok(());
        };
        let origin = vars.required("AUTH_WEBAUTHN_ORIGIN", "AUTH_WEBAUTHN_RP_ID")?;
        let name = vars.get("AUTH_WEBAUTHN_RP_NAME").unwrap_or(rp_id);
        let config = auth_core::passkey::WebauthnConfig::new(rp_id.trim(), origin.trim(), name)
            .map_err(|e| EnvConfigError {
                variable: "AUTH_WEBAUTHN_ORIGIN",
                message: e.to_string(),
            })?;
        self.webauthn = Some(config);
        Ok(())
    }
}
