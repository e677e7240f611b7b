//! The LDAP variables (`AUTH_LDAP_*`).

use super::vars::*;
use super::*;

impl AuthConfig {
    #[cfg(not(feature = "ldap"))]
    pub(super) fn merge_ldap(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        match LDAP_VARIABLES
            .into_iter()
            .find(|name| vars.get(name).is_some())
        {
            Some(variable) => Err(EnvConfigError {
                variable,
                message: "LDAP login needs the \"ldap\" Cargo feature of auth-axum, which this \
                          build leaves out"
                    .into(),
            }),
            None => Ok(()),
        }
    }

    /// The `AUTH_LDAP_*` variables. The checks that concern one variable are made here, so
    /// that the error names it; the builder's own checks (the CA file) come last.
    #[cfg(feature = "ldap")]
    pub(super) fn merge_ldap(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        let error = |variable: &'static str, message: &str| EnvConfigError {
            variable,
            message: message.to_owned(),
        };
        let Some(url) = vars.get("AUTH_LDAP_URL").map(str::trim) else {
            if let Some(variable) = LDAP_VARIABLES
                .into_iter()
                .find(|name| vars.get(name).is_some())
            {
                return Err(error(variable, "needs AUTH_LDAP_URL"));
            }
            return Ok(());
        };
        let starttls = vars.parse("AUTH_LDAP_STARTTLS", boolean)?.unwrap_or(false);
        let allow_plain = vars
            .parse("AUTH_LDAP_ALLOW_PLAIN", boolean)?
            .unwrap_or(false);
        let parsed = url::Url::parse(url).ok().filter(|u| {
            u.host_str().is_some_and(|h| !h.is_empty())
                && u.username().is_empty()
                && u.password().is_none()
                && matches!(u.path(), "" | "/")
        });
        let Some(parsed) = parsed else {
            return Err(error(
                "AUTH_LDAP_URL",
                "expected ldaps://host[:port] or ldap://host[:port]",
            ));
        };
        match (parsed.scheme(), starttls, allow_plain) {
            ("ldaps", true, _) => {
                return Err(error(
                    "AUTH_LDAP_STARTTLS",
                    "StartTLS is for ldap:// URLs (ldaps:// is TLS already)",
                ));
            }
            ("ldaps", false, _) | ("ldap", true, _) | ("ldap", false, true) => {}
            ("ldap", false, false) => {
                return Err(error(
                    "AUTH_LDAP_URL",
                    "ldap:// sends passwords in clear: use ldaps://, or set AUTH_LDAP_STARTTLS=true \
                     (AUTH_LDAP_ALLOW_PLAIN=true to accept plain LDAP)",
                ));
            }
            _ => {
                return Err(error(
                    "AUTH_LDAP_URL",
                    "expected an ldaps:// or ldap:// URL",
                ));
            }
        }
        let mut builder = auth_core::ldap::LdapConfig::builder(url)
            .starttls(starttls)
            .allow_plain(allow_plain);
        let template = vars.parse("AUTH_LDAP_USER_DN_TEMPLATE", non_empty)?;
        let base = vars.parse("AUTH_LDAP_SEARCH_BASE", non_empty)?;
        let filter = vars.parse("AUTH_LDAP_SEARCH_FILTER", non_empty)?;
        match (template, base) {
            (Some(_), Some(_)) => {
                return Err(error(
                    "AUTH_LDAP_USER_DN_TEMPLATE",
                    "give AUTH_LDAP_USER_DN_TEMPLATE or AUTH_LDAP_SEARCH_BASE, not both",
                ));
            }
            (None, None) => {
                return Err(error(
                    "AUTH_LDAP_USER_DN_TEMPLATE",
                    "required with AUTH_LDAP_URL (or AUTH_LDAP_SEARCH_BASE)",
                ));
            }
            (Some(template), None) => {
                if filter.is_some() {
                    return Err(error(
                        "AUTH_LDAP_SEARCH_FILTER",
                        "needs AUTH_LDAP_SEARCH_BASE",
                    ));
                }
                if !template.contains("{account}") {
                    return Err(error(
                        "AUTH_LDAP_USER_DN_TEMPLATE",
                        "must contain {account}",
                    ));
                }
                builder = builder.user_dn_template(&template);
            }
            (None, Some(base)) => {
                let filter = filter.unwrap_or_else(|| "(uid={account})".into());
                if !filter.contains("{account}") {
                    return Err(error("AUTH_LDAP_SEARCH_FILTER", "must contain {account}"));
                }
                builder = builder.user_search(&base, &filter);
            }
        }
        match (
            vars.parse("AUTH_LDAP_BIND_DN", non_empty)?,
            vars.get("AUTH_LDAP_BIND_PASSWORD"),
        ) {
            (Some(dn), Some(password)) if !password.is_empty() => {
                builder = builder.bind_credentials(&dn, password);
            }
            (Some(_), _) => {
                return Err(error(
                    "AUTH_LDAP_BIND_PASSWORD",
                    "required (not empty) with AUTH_LDAP_BIND_DN",
                ));
            }
            (None, Some(_)) => {
                return Err(error("AUTH_LDAP_BIND_PASSWORD", "needs AUTH_LDAP_BIND_DN"));
            }
            (None, None) => {}
        }
        if let Some(attribute) = vars.get("AUTH_LDAP_MAIL_ATTRIBUTE").map(str::trim) {
            if !attribute
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b';')
            {
                return Err(error(
                    "AUTH_LDAP_MAIL_ATTRIBUTE",
                    "expected an attribute name (or empty for none)",
                ));
            }
            builder = builder.mail_attribute((!attribute.is_empty()).then_some(attribute));
        }
        let group_base = vars.parse("AUTH_LDAP_GROUP_SEARCH_BASE", non_empty)?;
        let group_filter = vars.parse("AUTH_LDAP_GROUP_FILTER", |raw| {
            match raw.contains("{dn}") || raw.contains("{account}") {
                true => Ok(raw.to_owned()),
                false => Err("must contain {dn} or {account}".into()),
            }
        })?;
        let roles = vars
            .parse("AUTH_LDAP_GROUP_ROLES", group_roles)?
            .unwrap_or_default();
        match (&group_base, roles.is_empty()) {
            (Some(base), _) => builder = builder.group_search(base, group_filter.as_deref()),
            (None, false) => {
                return Err(error(
                    "AUTH_LDAP_GROUP_SEARCH_BASE",
                    "required with AUTH_LDAP_GROUP_ROLES",
                ));
            }
            (None, true) if group_filter.is_some() => {
                return Err(error(
                    "AUTH_LDAP_GROUP_FILTER",
                    "needs AUTH_LDAP_GROUP_SEARCH_BASE",
                ));
            }
            (None, true) => {}
        }
        for (group, role) in &roles {
            builder = builder.group_role(group, role);
        }
        if let Some(t) = vars.parse("AUTH_LDAP_CONNECT_TIMEOUT", duration)? {
            builder = builder.connect_timeout(t);
        }
        if let Some(t) = vars.parse("AUTH_LDAP_TIMEOUT", duration)? {
            builder = builder.operation_timeout(t);
        }
        let ca_file = vars.parse("AUTH_LDAP_CA_FILE", non_empty)?;
        if let Some(path) = &ca_file {
            builder = builder.ca_file(path);
        }
        let config = builder.build().map_err(|e| {
            let message = match e {
                auth_core::Error::Config(m) => m,
                other => other.to_string(),
            };
            EnvConfigError {
                variable: if ca_file.is_some() && message.contains("CA") {
                    "AUTH_LDAP_CA_FILE"
                } else {
                    "AUTH_LDAP_URL"
                },
                message,
            }
        })?;
        self.ldap = Some(config);
        Ok(())
    }
}
