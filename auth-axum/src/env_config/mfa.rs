//! The multi-factor variables (`AUTH_MFA_*`).

use super::vars::*;
use super::*;

impl AuthConfig {
    pub(super) fn merge_mfa(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        if let Some(key) = vars.parse("AUTH_MFA_KEY", |raw| {
            SecretKey::parse(raw).map_err(|e| e.to_string())
        })? {
            let issuer = self
                .mfa
                .as_ref()
                .map(|m| m.issuer.clone())
                .unwrap_or_else(|| "axum-auth".into());
            self.mfa = Some(MfaConfig::new(key, issuer));
        }
        let Some(mfa) = &mut self.mfa else {
            for name in ["AUTH_MFA_ISSUER", "AUTH_MFA_CHALLENGE_TTL"] {
                if vars.get(name).is_some() {
                    return Err(EnvConfigError {
                        variable: name,
                        message: "needs AUTH_MFA_KEY (or an MFA configuration)".into(),
                    });
                }
            }
            return Ok(());
        };
        vars.set("AUTH_MFA_ISSUER", &mut mfa.issuer, non_empty)?;
        vars.set("AUTH_MFA_CHALLENGE_TTL", &mut mfa.challenge_ttl, duration)?;
        Ok(())
    }
}
