//! The external-identity variables (`AUTH_OIDC_<NAME>_*`, `AUTH_OAUTH_*`).

use super::vars::*;
use super::*;

impl AuthConfig {
    #[cfg(not(feature = "oauth"))]
    pub(super) fn merge_oauth(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        match vars
            .0
            .keys()
            .find(|name| is_provider_variable(name) || name.starts_with("AUTH_OAUTH_"))
        {
            Some(_) => Err(EnvConfigError {
                variable: "AUTH_OIDC_<NAME>_*",
                message: "external identity needs the \"oauth\" Cargo feature of auth-axum, \
                          which this build leaves out"
                    .into(),
            }),
            None => Ok(()),
        }
    }

    #[cfg(feature = "oauth")]
    pub(super) fn merge_oauth(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        use auth_core::oauth::{OAuthConfig, ProviderConfig};
        const PROVIDER: &str = "AUTH_OIDC_<NAME>_*";
        let err = |variable: &'static str, message: String| EnvConfigError { variable, message };
        // The provider names, from the variables present, sorted (a stable order).
        let mut names: Vec<String> = vars
            .0
            .keys()
            .filter(|name| is_provider_variable(name))
            .filter_map(|name| {
                let rest = name.strip_prefix(OIDC_PREFIX)?;
                OIDC_SUFFIXES
                    .iter()
                    .find_map(|suffix| rest.strip_suffix(suffix))
                    .map(str::to_owned)
            })
            .collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            if let Some(variable) = [
                "AUTH_OAUTH_PUBLIC_URL",
                "AUTH_OAUTH_LINK_VERIFIED_EMAIL",
                "AUTH_OAUTH_CREATE_USERS",
                "AUTH_OAUTH_MFA_URL",
            ]
            .into_iter()
            .find(|name| vars.get(name).is_some())
            {
                return Err(err(
                    variable,
                    "needs a provider (AUTH_OIDC_<NAME>_CLIENT_ID)".into(),
                ));
            }
            return Ok(());
        }
        let public = vars.required("AUTH_OAUTH_PUBLIC_URL", "AUTH_OIDC_<NAME>_CLIENT_ID")?;
        let mut config = OAuthConfig::new(public.trim())
            .map_err(|e| err("AUTH_OAUTH_PUBLIC_URL", e.to_string()))?;
        for name in names {
            let var = |suffix: &str| format!("{OIDC_PREFIX}{name}{suffix}");
            let get = |suffix: &str| vars.0.get(&var(suffix)).map(|v| v.trim());
            let provider_name = name.to_ascii_lowercase();
            let client_id = get("_CLIENT_ID")
                .ok_or_else(|| err(PROVIDER, format!("{} is required", var("_CLIENT_ID"))))?;
            let secret = get("_CLIENT_SECRET");
            let mut provider = match get("_ISSUER") {
                Some(issuer) => ProviderConfig::oidc(&provider_name, issuer, client_id, secret),
                None if provider_name == "github" => Ok(ProviderConfig::github(
                    client_id,
                    secret.ok_or_else(|| {
                        err(
                            PROVIDER,
                            format!("{} is required for GitHub", var("_CLIENT_SECRET")),
                        )
                    })?,
                )),
                None => {
                    return Err(err(
                        PROVIDER,
                        format!("{} is required (only GitHub has a preset)", var("_ISSUER")),
                    ));
                }
            }
            .map_err(|e| err(PROVIDER, format!("{}: {e}", var("_ISSUER"))))?;
            if let Some(scopes) = get("_SCOPES") {
                provider = provider.scopes(scopes.split_whitespace().map(str::to_owned));
            }
            if let Some(raw) = get("_TRUST_AMR") {
                let on = boolean(raw)
                    .map_err(|m| err(PROVIDER, format!("{}: {m}", var("_TRUST_AMR"))))?;
                provider = provider.trust_amr(on);
            }
            config = config
                .provider(provider)
                .map_err(|e| err(PROVIDER, e.to_string()))?;
        }
        if let Some(on) = vars.parse("AUTH_OAUTH_LINK_VERIFIED_EMAIL", boolean)? {
            config = config.link_verified_email(on);
        }
        if let Some(on) = vars.parse("AUTH_OAUTH_CREATE_USERS", boolean)? {
            config = config.create_users(on);
        }
        if let Some(page) = vars.get("AUTH_OAUTH_MFA_URL") {
            config = config
                .mfa_url(page.trim())
                .map_err(|e| err("AUTH_OAUTH_MFA_URL", e.to_string()))?;
        }
        config.check().map_err(|e| err(PROVIDER, e.to_string()))?;
        self.oauth = Some(config);
        Ok(())
    }
}
