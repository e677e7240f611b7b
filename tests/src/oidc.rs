//! The OpenID provider of the OAuth tests and benchmarks: `tests/oidc/mock_provider.mjs`
//! (oauth2-mock-server: discovery, JWKS, RS256 ID tokens, PKCE checked at its token
//! endpoint), started once per test binary, plus its control endpoint: per client id, who
//! logs in and which fault to inject, so that cases run in parallel.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

use crate::REQUIRE_ALL_ENV;

/// The provider process's ports.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct Ports {
    /// The OpenID provider (issuer `http://127.0.0.1:<oidc>/`).
    pub oidc: u16,
    /// The GitHub-shaped OAuth2 provider (its web side).
    pub github: u16,
    /// The control endpoint, which also serves GitHub's API (`/user`, `/user/emails`).
    pub control: u16,
}

struct Provider {
    ports: Ports,
    _child: Child,
}

/// The provider process, started once (installed with `npm ci` first if needed); `None`
/// (a skip, said) without Node.js unless every tool is required.
pub fn provider() -> Option<Ports> {
    static PROVIDER: OnceLock<Option<Provider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc");
            let required = std::env::var(REQUIRE_ALL_ENV).as_deref() == Ok("1");
            if !dir.join("node_modules/oauth2-mock-server").exists() {
                let installed = Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--silent"])
                    .current_dir(&dir)
                    .status()
                    .is_ok_and(|s| s.success());
                if !installed {
                    assert!(
                        !required,
                        "Node.js and npm are required for the OAuth tests ({REQUIRE_ALL_ENV}=1)"
                    );
                    eprintln!("skipped: no Node.js/npm to run the OpenID provider (tests/oidc)");
                    return None;
                }
            }
            let mut child = Command::new("node")
                .arg("mock_provider.mjs")
                .current_dir(&dir)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("node runs");
            let mut line = String::new();
            BufReader::new(child.stdout.take().expect("stdout"))
                .read_line(&mut line)
                .expect("the provider's first line");
            let ports: Ports = serde_json::from_str(
                line.strip_prefix("READY ")
                    .unwrap_or_else(|| panic!("provider said {line:?}")),
            )
            .expect("ports");
            Some(Provider {
                ports,
                _child: child,
            })
        })
        .as_ref()
        .map(|p| p.ports)
}

/// A client id of its own for one case on one backend.
pub fn client_id(case: &str) -> String {
    format!(
        "{case}-{}",
        &auth_axum::auth_core::session::new_token()[..10]
    )
}

/// Tells the provider what `client` gets.
pub async fn scenario(ports: Ports, client: &str, scenario: Value) {
    let url = format!("http://127.0.0.1:{}/scenario/{client}", ports.control);
    let answer = reqwest::Client::new()
        .post(url)
        .json(&scenario)
        .send()
        .await
        .expect("control endpoint");
    assert!(answer.status().is_success());
}
