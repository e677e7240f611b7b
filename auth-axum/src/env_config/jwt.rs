//! The token-login variables (`AUTH_JWT_*`).

use super::vars::*;
use super::*;

impl AuthConfig {
    pub(super) fn merge_jwt(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        let kid = vars
            .parse("AUTH_JWT_KID", non_empty)?
            .unwrap_or_else(|| "k1".into());
        if let Some(path) = vars.get("AUTH_JWT_ED25519_PEM_FILE") {
            let error = |message: String| EnvConfigError {
                variable: "AUTH_JWT_ED25519_PEM_FILE",
                message,
            };
            let pem = std::fs::read_to_string(path.trim())
                .map_err(|e| error(format!("cannot read {path:?}: {e}")))?;
            let key = JwtKey::ed25519_pem(kid, &pem).map_err(|e| error(e.to_string()))?;
            self.jwt = Some(JwtConfig::new(key).map_err(|e| error(e.to_string()))?);
        }
        let Some(jwt) = &mut self.jwt else {
            for name in ["AUTH_JWT_ACCESS_TTL", "AUTH_JWT_ISSUER"] {
                if vars.get(name).is_some() {
                    return Err(EnvConfigError {
                        variable: name,
                        message: "needs AUTH_JWT_ED25519_PEM_FILE (or a JWT configuration)".into(),
                    });
                }
            }
            return Ok(());
        };
        vars.set("AUTH_JWT_ACCESS_TTL", &mut jwt.access_ttl, duration)?;
        vars.set("AUTH_JWT_ISSUER", &mut jwt.issuer, non_empty)?;
        Ok(())
    }
}
