//! Provider and login configuration of OAuth2 / OpenID Connect logins.

use std::time::Duration;

use url::Url;

use crate::error::Error;

/// Platform names a provider may not take: the service's own login platforms.
const RESERVED_NAMES: &[&str] = &["default", "jwt", "passkey", "ldap"];

/// How a provider says who the user is.
// A configuration value, built once per provider: boxing the larger variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderKind {
    /// OpenID Connect: the endpoints and keys come from the issuer's discovery document;
    /// the user is the verified ID token's `sub`.
    Oidc {
        /// The issuer URL exactly as the provider writes it in its tokens' `iss` (with or
        /// without a trailing slash); its `/.well-known/openid-configuration` is read.
        issuer: String,
    },
    /// Plain OAuth2: the user is read from a user-info endpoint with the access token.
    OAuth2 {
        /// The authorization endpoint.
        auth_url: Url,
        /// The token endpoint.
        token_url: Url,
        /// The user-info endpoint (a JSON object).
        userinfo_url: Url,
        /// An endpoint listing the user's addresses as `[{email, primary, verified}]`
        /// (GitHub's `/user/emails`), read when the user-info has no verified address.
        emails_url: Option<Url>,
        /// Which user-info fields mean what.
        mapping: UserInfoMapping,
    },
}

/// Which fields of a plain OAuth2 provider's user-info mean what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfoMapping {
    /// The stable user id (a string or a number), e.g. `id`.
    pub subject: String,
    /// The user name, used as the new account's name, e.g. `login`.
    pub account: Option<String>,
    /// The e-mail address, e.g. `email`.
    pub email: Option<String>,
    /// A boolean saying the address is verified, e.g. `email_verified`. Without one (and
    /// without an `emails_url`) the address counts as unverified.
    pub email_verified: Option<String>,
}

/// One identity provider.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub(crate) name: String,
    pub(crate) kind: ProviderKind,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) trust_amr: bool,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<set>"),
            )
            .field("scopes", &self.scopes)
            .field("trust_amr", &self.trust_amr)
            .finish()
    }
}

fn parse_url(what: &str, url: &str) -> Result<Url, Error> {
    Url::parse(url).map_err(|e| Error::Config(format!("{what}: not a URL: {e}")))
}

impl ProviderConfig {
    /// An OpenID Connect provider found by discovery at `issuer`, with the scopes
    /// `openid email profile`.
    pub fn oidc(
        name: &str,
        issuer: &str,
        client_id: &str,
        client_secret: Option<&str>,
    ) -> Result<Self, Error> {
        Self::new(
            name,
            ProviderKind::Oidc {
                issuer: {
                    parse_url("issuer", issuer)?;
                    issuer.to_owned()
                },
            },
            client_id,
            client_secret,
            &["openid", "email", "profile"],
        )
    }

    /// A plain OAuth2 provider: the user is read from `userinfo_url` with `mapping`.
    pub fn oauth2(
        name: &str,
        auth_url: &str,
        token_url: &str,
        userinfo_url: &str,
        mapping: UserInfoMapping,
        client_id: &str,
        client_secret: Option<&str>,
    ) -> Result<Self, Error> {
        Self::new(
            name,
            ProviderKind::OAuth2 {
                auth_url: parse_url("auth_url", auth_url)?,
                token_url: parse_url("token_url", token_url)?,
                userinfo_url: parse_url("userinfo_url", userinfo_url)?,
                emails_url: None,
                mapping,
            },
            client_id,
            client_secret,
            &[],
        )
    }

    /// GitHub (a plain OAuth2 provider), named `github`: the user is `GET /user`'s `id`,
    /// the account name its `login`, and the address the primary verified one of
    /// `GET /user/emails` (scopes `read:user user:email`).
    pub fn github(client_id: &str, client_secret: &str) -> Self {
        Self::github_at(
            "https://github.com",
            "https://api.github.com",
            client_id,
            client_secret,
        )
        .expect("GitHub's URLs parse")
    }

    /// The GitHub preset with other base URLs (GitHub Enterprise Server: `https://host`
    /// and `https://host/api/v3`; a test server).
    pub fn github_at(
        web: &str,
        api: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Self, Error> {
        let web = web.trim_end_matches('/');
        let api = api.trim_end_matches('/');
        let mut provider = Self::new(
            "github",
            ProviderKind::OAuth2 {
                auth_url: parse_url("auth_url", &format!("{web}/login/oauth/authorize"))?,
                token_url: parse_url("token_url", &format!("{web}/login/oauth/access_token"))?,
                userinfo_url: parse_url("userinfo_url", &format!("{api}/user"))?,
                emails_url: Some(parse_url("emails_url", &format!("{api}/user/emails"))?),
                mapping: UserInfoMapping {
                    subject: "id".into(),
                    account: Some("login".into()),
                    email: Some("email".into()),
                    email_verified: None,
                },
            },
            client_id,
            Some(client_secret),
            &["read:user", "user:email"],
        )?;
        provider.trust_amr = false;
        Ok(provider)
    }

    fn new(
        name: &str,
        kind: ProviderKind,
        client_id: &str,
        client_secret: Option<&str>,
        scopes: &[&str],
    ) -> Result<Self, Error> {
        let name_ok = !name.is_empty()
            && name.len() <= 32
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !name_ok {
            return Err(Error::Config(format!(
                "provider name {name:?}: 1 to 32 of a-z, 0-9, _ and -"
            )));
        }
        if RESERVED_NAMES.contains(&name) {
            return Err(Error::Config(format!(
                "provider name {name:?} is taken by a built-in login platform"
            )));
        }
        if client_id.is_empty() {
            return Err(Error::Config(format!("provider {name}: empty client id")));
        }
        Ok(ProviderConfig {
            name: name.to_owned(),
            kind,
            client_id: client_id.to_owned(),
            client_secret: client_secret.filter(|s| !s.is_empty()).map(str::to_owned),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            trust_amr: false,
        })
    }

    /// Replaces the scopes asked for (OpenID Connect always adds `openid`).
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// With `on`, a user with MFA on skips the local second factor when the provider's ID
    /// token says it checked one (`amr` holding `mfa`, `otp`, `hwk`, `swk`, `sc`, `sms`,
    /// `fpt`, `face` or `iris`: RFC 8176). Off by default: trust it only for a provider that
    /// enforces MFA and that you trust with your users' accounts.
    pub fn trust_amr(mut self, on: bool) -> Self {
        self.trust_amr = on;
        self
    }

    /// The provider's name (its routes' `{provider}`, the sessions' platform).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How the provider identifies users.
    pub fn kind(&self) -> &ProviderKind {
        &self.kind
    }
}

/// The OAuth2 / OpenID Connect logins of a service
/// ([`crate::service::AuthServiceBuilder::oauth`]).
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    pub(crate) providers: Vec<ProviderConfig>,
    pub(crate) public_url: Url,
    pub(crate) link_verified_email: bool,
    pub(crate) create_users: bool,
    pub(crate) state_ttl: Duration,
    pub(crate) mfa_url: Option<String>,
}

impl OAuthConfig {
    /// Logins whose callbacks are under `public_url`, the public URL where the auth router
    /// is mounted (`https://example.com/api/contrib/auth/`): a provider's redirect URI is
    /// `<public_url>oauth/<name>/callback`, which is what to register at the provider.
    pub fn new(public_url: &str) -> Result<Self, Error> {
        let mut url = parse_url("public URL", public_url)?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(Error::Config(
                "public URL: an http or https URL is needed".into(),
            ));
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(OAuthConfig {
            providers: Vec::new(),
            public_url: url,
            link_verified_email: false,
            create_users: true,
            state_ttl: super::state::DEFAULT_STATE_TTL,
            mfa_url: None,
        })
    }

    /// Adds a provider; an error when its name is used already.
    pub fn provider(mut self, provider: ProviderConfig) -> Result<Self, Error> {
        if self.providers.iter().any(|p| p.name == provider.name) {
            return Err(Error::Config(format!(
                "provider {:?} is configured twice",
                provider.name
            )));
        }
        self.providers.push(provider);
        Ok(self)
    }

    /// With `on`, a first login whose provider asserts a verified e-mail address is linked
    /// to the local user holding that address, if that user's own address is verified
    /// too. Off by default: the new identity then gets a user of its own.
    pub fn link_verified_email(mut self, on: bool) -> Self {
        self.link_verified_email = on;
        self
    }

    /// With `false`, an identity linked to no user is refused (`no_account`) instead of
    /// getting a new user. Default `true`.
    pub fn create_users(mut self, on: bool) -> Self {
        self.create_users = on;
        self
    }

    /// How long a login may take between `authorize` and `callback` (default 10 minutes).
    pub fn state_ttl(mut self, ttl: Duration) -> Self {
        self.state_ttl = ttl;
        self
    }

    /// The local page that asks a user with MFA for the second factor after a provider
    /// login: the callback redirects there with `#mfa_token=...&next=...` in the fragment
    /// (never sent to a server). Default: `next` itself.
    pub fn mfa_url(mut self, path: &str) -> Result<Self, Error> {
        let path = super::check_next(Some(path))
            .map_err(|_| Error::Config("mfa_url: a local path is needed".into()))?;
        self.mfa_url = Some(path);
        Ok(self)
    }

    /// How long a login may take between `authorize` and `callback`.
    pub fn login_ttl(&self) -> Duration {
        self.state_ttl
    }

    /// The MFA page ([`OAuthConfig::mfa_url`]), if one is set.
    pub fn mfa_page(&self) -> Option<&str> {
        self.mfa_url.as_deref()
    }

    /// Whether the providers' clients can be set up (what
    /// [`crate::service::AuthServiceBuilder::oauth`] does; no provider is contacted).
    pub fn check(&self) -> Result<(), Error> {
        super::upstream::Upstream::new(self).map(|_| ())
    }

    /// The configured providers.
    pub fn providers(&self) -> &[ProviderConfig] {
        &self.providers
    }

    /// The redirect URI of `provider` (to register at the provider).
    pub fn redirect_uri(&self, provider: &str) -> Url {
        self.public_url
            .join(&format!("oauth/{provider}/callback"))
            .expect("a provider name is a valid path segment")
    }
}
