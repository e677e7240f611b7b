//! The calls to identity providers: discovery, the authorization URL, the code exchange
//! with the PKCE verifier, the ID token's verification (signature, `iss`, `aud`, `exp`,
//! nonce, `at_hash`: all by the `openidconnect` crate) and, for plain OAuth2 providers,
//! the user-info.
//!
//! No database connection is held here: the service calls these between its database
//! steps. The HTTP client follows no redirects (a provider's token endpoint must not send
//! the code and secret elsewhere) and gives up after [`TIMEOUT`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use oauth2::basic::BasicClient;
use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreIdTokenVerifier, CoreProviderMetadata,
};
use openidconnect::{
    AccessTokenHash, AuthUrl, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde_json::Value;
use tokio::sync::Mutex;

use super::{OAuthConfig, OAuthError, ProviderConfig, ProviderKind, UserInfoMapping};
use crate::backend::AuthError;
use crate::error::Error;

/// How long one call to a provider may take.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a discovery document (with its keys) is used before it is read again.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// The largest user-info answer read.
const MAX_USERINFO_BYTES: usize = 256 * 1024;
/// `amr` values (RFC 8176) that show a second factor.
const MFA_AMR: &[&str] = &[
    "mfa", "otp", "hwk", "swk", "sc", "sms", "fpt", "face", "iris",
];

/// What a provider proved about the user.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    /// The provider's stable id of the user.
    pub(crate) subject: String,
    /// The e-mail address, if given.
    pub(crate) email: Option<String>,
    /// Whether the provider asserts the address is verified.
    pub(crate) email_verified: bool,
    /// A user name to name a new account after.
    pub(crate) username: Option<String>,
    /// The provider asserts a second factor (`amr`) and is trusted to.
    pub(crate) mfa: bool,
    /// When the user last actively logged in at the provider (`auth_time`, Unix seconds),
    /// if the ID token says.
    pub(crate) auth_time: Option<i64>,
}

/// A login's start: where to send the browser, and what to keep for the callback.
pub(crate) struct Started {
    pub(crate) url: url::Url,
    pub(crate) state: String,
    pub(crate) pkce_verifier: String,
    pub(crate) nonce: String,
}

struct Provider {
    config: ProviderConfig,
    redirect: RedirectUrl,
    discovered: Mutex<Option<(CoreProviderMetadata, Instant)>>,
}

/// The configured providers and the HTTP client that reaches them.
pub(crate) struct Upstream {
    http: reqwest::Client,
    providers: HashMap<String, Provider>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.providers.keys().collect();
        names.sort();
        f.debug_struct("Upstream")
            .field("providers", &names)
            .finish_non_exhaustive()
    }
}

fn upstream(provider: &str, e: impl std::error::Error + Send + Sync + 'static) -> AuthError {
    AuthError::Upstream {
        service: provider.to_owned(),
        source: Box::new(e),
    }
}

fn refused(e: OAuthError) -> AuthError {
    AuthError::OAuth(e)
}

impl Upstream {
    pub(crate) fn new(config: &OAuthConfig) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .user_agent(concat!("auth-core/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("OAuth HTTP client: {e}")))?;
        let mut providers = HashMap::new();
        for p in &config.providers {
            let redirect = RedirectUrl::new(config.redirect_uri(&p.name).to_string())
                .map_err(|e| Error::Config(format!("redirect URI of {}: {e}", p.name)))?;
            providers.insert(
                p.name.clone(),
                Provider {
                    config: p.clone(),
                    redirect,
                    discovered: Mutex::new(None),
                },
            );
        }
        Ok(Upstream { http, providers })
    }

    fn provider(&self, name: &str) -> Result<&Provider, AuthError> {
        self.providers
            .get(name)
            .ok_or_else(|| refused(OAuthError::UnknownProvider(name.to_owned())))
    }

    /// Whether `name` is a configured provider.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.providers.contains_key(name)
    }

    /// The OpenID provider's metadata, read at most once per [`DISCOVERY_TTL`] (again
    /// after a failure).
    async fn metadata(
        &self,
        p: &Provider,
        issuer: &str,
    ) -> Result<CoreProviderMetadata, AuthError> {
        let mut cached = p.discovered.lock().await;
        if let Some((metadata, at)) = cached.as_ref()
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(metadata.clone());
        }
        let issuer = IssuerUrl::new(issuer.to_owned()).map_err(|e| upstream(&p.config.name, e))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| upstream(&p.config.name, e))?;
        *cached = Some((metadata.clone(), Instant::now()));
        Ok(metadata)
    }

    fn oidc_client(
        p: &Provider,
        metadata: CoreProviderMetadata,
    ) -> CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    > {
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(p.config.client_id.clone()),
            p.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(p.redirect.clone())
    }

    /// The client of a plain OAuth2 provider (its secret, if any, for the token endpoint).
    fn oauth2_client(
        p: &Provider,
        auth_url: &url::Url,
        token_url: &url::Url,
    ) -> oauth2::basic::BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    > {
        let mut client = BasicClient::new(ClientId::new(p.config.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(auth_url.clone()))
            .set_token_uri(TokenUrl::from_url(token_url.clone()))
            .set_redirect_uri(p.redirect.clone());
        if let Some(secret) = &p.config.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        client
    }

    /// The authorization URL of a new login at `name`: a random `state`, a PKCE S256
    /// challenge and a random nonce. With `fresh`, the provider is asked to log the user in
    /// again (`prompt=login`, `max_age=0`, so its ID token carries `auth_time`); a plain
    /// OAuth2 provider cannot prove that ([`OAuthError::NoFreshLogin`]).
    pub(crate) async fn start(&self, name: &str, fresh: bool) -> Result<Started, AuthError> {
        let p = self.provider(name)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        match &p.config.kind {
            ProviderKind::Oidc { issuer } => {
                let client = Self::oidc_client(p, self.metadata(p, issuer).await?);
                let mut request = client.authorize_url(
                    CoreAuthenticationFlow::AuthorizationCode,
                    CsrfToken::new_random,
                    Nonce::new_random,
                );
                request = request.add_scope(Scope::new("openid".into()));
                for scope in p.config.scopes.iter().filter(|s| *s != "openid") {
                    request = request.add_scope(Scope::new(scope.clone()));
                }
                if fresh {
                    request = request
                        .add_prompt(CoreAuthPrompt::Login)
                        .set_max_age(Duration::ZERO);
                }
                let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
                Ok(Started {
                    url,
                    state: state.secret().clone(),
                    pkce_verifier: verifier.secret().clone(),
                    nonce: nonce.secret().clone(),
                })
            }
            ProviderKind::OAuth2 {
                auth_url,
                token_url,
                ..
            } => {
                if fresh {
                    return Err(refused(OAuthError::NoFreshLogin));
                }
                let client = Self::oauth2_client(p, auth_url, token_url);
                let mut request = client.authorize_url(CsrfToken::new_random);
                for scope in &p.config.scopes {
                    request = request.add_scope(Scope::new(scope.clone()));
                }
                let (url, state) = request.set_pkce_challenge(challenge).url();
                Ok(Started {
                    url,
                    state: state.secret().clone(),
                    pkce_verifier: verifier.secret().clone(),
                    // Plain OAuth2 has no ID token to carry a nonce.
                    nonce: CsrfToken::new_random().secret().clone(),
                })
            }
        }
    }

    /// Exchanges `code` with the PKCE verifier and verifies who the user is.
    pub(crate) async fn finish(
        &self,
        name: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Verified, AuthError> {
        let p = self.provider(name)?;
        let code = AuthorizationCode::new(code.to_owned());
        let verifier = PkceCodeVerifier::new(pkce_verifier.to_owned());
        match &p.config.kind {
            ProviderKind::Oidc { issuer } => {
                let metadata = self.metadata(p, issuer).await?;
                let client = Self::oidc_client(p, metadata);
                let token = client
                    .exchange_code(code)
                    .map_err(|e| upstream(name, e))?
                    .set_pkce_verifier(verifier)
                    .request_async(&self.http)
                    .await
                    .map_err(|e| token_error(name, e))?;
                let id_token = token
                    .id_token()
                    .ok_or(refused(OAuthError::InvalidToken("no ID token")))?;
                let id_verifier: CoreIdTokenVerifier<'_> = client.id_token_verifier();
                let nonce = Nonce::new(nonce.to_owned());
                let claims = id_token
                    .claims(&id_verifier, &nonce)
                    .map_err(|e| refused(claims_error(&e)))?;
                if let Some(expected) = claims.access_token_hash() {
                    let alg = id_token
                        .signing_alg()
                        .map_err(|_| refused(OAuthError::InvalidToken("at_hash")))?;
                    let key = id_token
                        .signing_key(&id_verifier)
                        .map_err(|_| refused(OAuthError::InvalidToken("at_hash")))?;
                    let actual = AccessTokenHash::from_token(token.access_token(), alg, key)
                        .map_err(|_| refused(OAuthError::InvalidToken("at_hash")))?;
                    if actual != *expected {
                        return Err(refused(OAuthError::InvalidToken("at_hash")));
                    }
                }
                let mfa = p.config.trust_amr
                    && claims
                        .auth_method_refs()
                        .is_some_and(|amr| amr.iter().any(|m| MFA_AMR.contains(&m.as_str())));
                Ok(Verified {
                    subject: claims.subject().as_str().to_owned(),
                    email: claims.email().map(|e| e.as_str().to_owned()),
                    email_verified: claims.email_verified() == Some(true),
                    username: claims.preferred_username().map(|u| u.as_str().to_owned()),
                    mfa,
                    auth_time: claims.auth_time().map(|t| t.timestamp()),
                })
            }
            ProviderKind::OAuth2 {
                auth_url,
                token_url,
                userinfo_url,
                emails_url,
                mapping,
            } => {
                let client = Self::oauth2_client(p, auth_url, token_url);
                let token = client
                    .exchange_code(code)
                    .set_pkce_verifier(verifier)
                    .request_async(&self.http)
                    .await
                    .map_err(|e| token_error(name, e))?;
                let access = token.access_token().secret();
                let info = self.get_json(name, userinfo_url, access).await?;
                let mut verified = from_userinfo(&info, mapping)?;
                if !verified.email_verified
                    && let Some(emails_url) = emails_url
                {
                    let emails = self.get_json(name, emails_url, access).await?;
                    if let Some(primary) = primary_verified(&emails) {
                        verified.email = Some(primary);
                        verified.email_verified = true;
                    }
                }
                Ok(verified)
            }
        }
    }

    /// `GET url` with the access token; a JSON answer of at most [`MAX_USERINFO_BYTES`].
    async fn get_json(&self, name: &str, url: &url::Url, access: &str) -> Result<Value, AuthError> {
        let answer = self
            .http
            .get(url.clone())
            .bearer_auth(access)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| upstream(name, e))?;
        let status = answer.status();
        if status.is_client_error() {
            return Err(refused(OAuthError::Provider(format!(
                "userinfo_{}",
                status.as_u16()
            ))));
        }
        let answer = answer.error_for_status().map_err(|e| upstream(name, e))?;
        if answer
            .content_length()
            .is_some_and(|n| n > MAX_USERINFO_BYTES as u64)
        {
            return Err(refused(OAuthError::InvalidToken("user-info too large")));
        }
        let bytes = answer.bytes().await.map_err(|e| upstream(name, e))?;
        if bytes.len() > MAX_USERINFO_BYTES {
            return Err(refused(OAuthError::InvalidToken("user-info too large")));
        }
        serde_json::from_slice(&bytes)
            .map_err(|_| refused(OAuthError::InvalidToken("user-info is not JSON")))
    }
}

/// A token endpoint's failure: the provider's own refusal (`invalid_grant`: a used or
/// wrong code, a wrong PKCE verifier) is the login's fault; anything else is the
/// provider's (unreachable, garbage).
fn token_error<RE, T>(provider: &str, e: RequestTokenError<RE, T>) -> AuthError
where
    RE: std::error::Error + Send + Sync + 'static,
    T: oauth2::ErrorResponse + Send + Sync + 'static,
{
    match e {
        RequestTokenError::ServerResponse(answer) => {
            let code = serde_json::to_value(&answer)
                .ok()
                .and_then(|v| {
                    v.get("error")
                        .and_then(Value::as_str)
                        .map(super::error_code)
                })
                .unwrap_or_else(|| "error".to_owned());
            refused(OAuthError::Provider(code))
        }
        other => upstream(provider, other),
    }
}

fn claims_error(e: &ClaimsVerificationError) -> OAuthError {
    match e {
        ClaimsVerificationError::InvalidNonce(_) => OAuthError::InvalidNonce,
        ClaimsVerificationError::SignatureVerification(_) => OAuthError::InvalidToken("signature"),
        ClaimsVerificationError::InvalidAudience(_) => OAuthError::InvalidToken("audience"),
        ClaimsVerificationError::InvalidIssuer(_) => OAuthError::InvalidToken("issuer"),
        ClaimsVerificationError::Expired(_) => OAuthError::InvalidToken("expired"),
        ClaimsVerificationError::InvalidSubject(_) => OAuthError::InvalidToken("subject"),
        _ => OAuthError::InvalidToken("claims"),
    }
}

/// A JSON value as an identifier: a string as it is, a whole number in decimal.
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

fn from_userinfo(info: &Value, mapping: &UserInfoMapping) -> Result<Verified, AuthError> {
    let subject = text(info.get(&mapping.subject)).ok_or(refused(OAuthError::InvalidToken(
        "no subject in the user-info",
    )))?;
    let field = |name: &Option<String>| name.as_ref().and_then(|n| text(info.get(n)));
    let email_verified = mapping
        .email_verified
        .as_ref()
        .and_then(|n| info.get(n))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(Verified {
        subject,
        email: field(&mapping.email),
        email_verified,
        username: field(&mapping.account),
        mfa: false,
        auth_time: None,
    })
}

/// The primary verified address of a `[{email, primary, verified}]` list.
fn primary_verified(emails: &Value) -> Option<String> {
    emails.as_array()?.iter().find_map(|e| {
        let primary = e.get("primary").and_then(Value::as_bool) == Some(true);
        let verified = e.get("verified").and_then(Value::as_bool) == Some(true);
        (primary && verified)
            .then(|| e.get("email").and_then(Value::as_str).map(str::to_owned))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_info_is_mapped() {
        let mapping = UserInfoMapping {
            subject: "id".into(),
            account: Some("login".into()),
            email: Some("email".into()),
            email_verified: Some("verified".into()),
        };
        let v = from_userinfo(
            &json!({"id": 42, "login": "octo", "email": "o@example.com", "verified": true}),
            &mapping,
        )
        .unwrap();
        assert_eq!(v.subject, "42");
        assert_eq!(v.username.as_deref(), Some("octo"));
        assert!(v.email_verified);
        assert!(from_userinfo(&json!({"id": 1.5}), &mapping).is_err());
        assert!(from_userinfo(&json!({"login": "x"}), &mapping).is_err());
    }

    #[test]
    fn only_a_primary_verified_address_counts() {
        let list = json!([
            {"email": "a@example.com", "primary": false, "verified": true},
            {"email": "b@example.com", "primary": true, "verified": false},
        ]);
        assert_eq!(primary_verified(&list), None);
        let list = json!([{"email": "c@example.com", "primary": true, "verified": true}]);
        assert_eq!(primary_verified(&list).as_deref(), Some("c@example.com"));
    }
}
