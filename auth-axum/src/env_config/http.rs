//! The cookie, CSRF, client-IP and registration variables (`AUTH_COOKIE_*`, ...).

use super::vars::*;
use super::*;

impl AuthConfig {
    pub(super) fn merge_http(&mut self, vars: &Vars) -> Result<(), EnvConfigError> {
        let http = &mut self.http;
        let cookie: &mut CookieConfig = &mut http.cookie;
        vars.set("AUTH_COOKIE_NAME", &mut cookie.name, cookie_name)?;
        if let Some(domain) = vars.parse("AUTH_COOKIE_DOMAIN", |raw| {
            match !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_graphic() && b != b';') {
                true => Ok(raw.to_owned()),
                false => Err("expected a domain name".into()),
            }
        })? {
            cookie.domain = Some(domain);
        }
        vars.set("AUTH_COOKIE_SECURE", &mut cookie.secure, boolean)?;
        vars.set("AUTH_COOKIE_HOST_PREFIX", &mut cookie.host_prefix, boolean)?;
        vars.set("AUTH_CSRF_ENABLED", &mut http.csrf.enabled, boolean)?;
        vars.set(
            "AUTH_CSRF_ALLOWED_ORIGINS",
            &mut http.csrf.allowed_origins,
            |raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(|o| {
                        crate::csrf::exact_origin(o)
                            .ok_or_else(|| format!("{o:?} is not an origin (scheme://host[:port])"))
                    })
                    .collect()
            },
        )?;
        vars.set("AUTH_REGISTRATION", &mut http.registration, |raw| match raw
            .to_ascii_lowercase()
            .as_str()
        {
            "open" => Ok(RegistrationMode::Open),
            "private" => Ok(RegistrationMode::Private),
            _ => Err("expected open or private".into()),
        })?;
        let header = vars.parse("AUTH_CLIENT_IP_HEADER", |raw| {
            axum::http::HeaderName::try_from(raw).map_err(|_| "expected a header name".into())
        })?;
        let hops = vars.parse("AUTH_CLIENT_IP_TRUSTED_HOPS", |raw| {
            count(raw).map(|n| n as usize)
        })?;
        match (header, hops) {
            (Some(name), hops) => {
                http.client_ip = ClientIpSource::Header {
                    name,
                    trusted_hops: hops.unwrap_or(1),
                }
            }
            (None, Some(_)) => {
                return Err(EnvConfigError {
                    variable: "AUTH_CLIENT_IP_TRUSTED_HOPS",
                    message: "needs AUTH_CLIENT_IP_HEADER".into(),
                });
            }
            (None, None) => {}
        }
        Ok(())
    }
}
