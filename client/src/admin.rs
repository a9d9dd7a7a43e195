//! The operator's methods (the admin key: replica status, swaps, chaos) and token management
//! (the admin key, or an area admin's token), with their answers' types.

use std::fmt;
use std::time::Duration;

use serde_json::json;

use crate::error::{ApiError, Error};
use crate::{Client, RmId, Tokens};

impl Client {
    /// `POST /v1/tokens`: a token for `user`, valid `ttl` (none: the front end's default, 30
    /// days). Presents the admin key if the client has one, else its own token (an area admin's:
    /// users of its area only).
    pub async fn issue_token(
        &self,
        user: &str,
        ttl: Option<Duration>,
    ) -> Result<IssuedToken, Error> {
        let body = json!({ "user": user, "ttlSeconds": ttl.map(|t| t.as_secs()) });
        self.manage(reqwest::Method::POST, &["v1", "tokens"], Some(body))
            .await
    }

    /// `POST /v1/tokens/revocations`: revokes one of `user`'s tokens (`token_id`), or every
    /// token of `user` issued until now. Credentials as [`Client::issue_token`].
    pub async fn revoke_token(
        &self,
        user: &str,
        token_id: Option<&str>,
    ) -> Result<serde_json::Value, Error> {
        let body = json!({ "user": user, "tokenId": token_id });
        self.manage(
            reqwest::Method::POST,
            &["v1", "tokens", "revocations"],
            Some(body),
        )
        .await
    }

    /// `GET /v1/admin/replicas` (admin key): every replica manager's status.
    pub async fn replicas(&self) -> Result<Replicas, Error> {
        self.admin(reqwest::Method::GET, &["replicas"], None).await
    }

    /// `POST /v1/admin/replicas/{rm}/swap` (admin key): RM `rm` replaces its replica by a fresh
    /// instance of `module` with the correct state; its status once the swap has started.
    pub async fn swap(&self, rm: RmId, module: &str) -> Result<ReplicaStatus, Error> {
        self.swap_with(rm, json!({ "module": module })).await
    }

    /// A canary swap (`"canary"` in the body): RM `rm` first runs `module` in shadow until it
    /// agreed on `requests` requests (and the state) or `seconds` passed, and promotes it only
    /// then; otherwise it is refused and quarantined. Its status once the canary has started;
    /// [`ReplicaStatus::canary`] and [`ReplicaStatus::last_canary`] tell how it goes. `force`
    /// allows a module another RM runs.
    pub async fn swap_canary(
        &self,
        rm: RmId,
        module: &str,
        requests: u32,
        seconds: u32,
        force: bool,
    ) -> Result<ReplicaStatus, Error> {
        let body = json!({ "module": module, "force": force,
                           "canary": { "requests": requests, "seconds": seconds } });
        self.swap_with(rm, body).await
    }

    async fn swap_with(&self, rm: RmId, body: serde_json::Value) -> Result<ReplicaStatus, Error> {
        #[derive(serde::Deserialize)]
        struct Swapped {
            replica: ReplicaStatus,
        }
        let rm = rm.to_string();
        let swapped: Swapped = self
            .admin(
                reqwest::Method::POST,
                &["replicas", &rm, "swap"],
                Some(body),
            )
            .await?;
        Ok(swapped.replica)
    }

    /// `POST /v1/admin/chaos/drop` (admin key): node `to` drops `percent` % of the datagrams it
    /// receives from node `from` (0 heals the link); node names as `sequencer`, `fe1`, `rm2`.
    /// The answer lists the links into `to`.
    pub async fn chaos_drop(&self, from: &str, to: &str, percent: u8) -> Result<ChaosLinks, Error> {
        let body = json!({ "from": from, "to": to, "percent": percent });
        self.admin(reqwest::Method::POST, &["chaos", "drop"], Some(body))
            .await
    }

    /// `GET /v1/admin/chaos` (admin key): every node's links that drop or have dropped.
    pub async fn chaos_links(&self) -> Result<ChaosLinks, Error> {
        self.admin(reqwest::Method::GET, &["chaos"], None).await
    }

    /// `DELETE /v1/admin/chaos` (admin key): heal every link of every node.
    pub async fn chaos_heal(&self) -> Result<ChaosLinks, Error> {
        self.admin(reqwest::Method::DELETE, &["chaos"], None).await
    }

    /// Sends one operator request to `/v1/admin/<path>` with the admin key and decodes the
    /// answer as `T`, or the API's error.
    async fn admin<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &[&str],
        body: Option<serde_json::Value>,
    ) -> Result<T, Error> {
        let mut segments = vec!["v1", "admin"];
        segments.extend(path);
        let credential = self.admin_key.clone();
        self.request_json(method, &segments, credential, body).await
    }

    /// Sends one token-management request with the admin key, or else the client's own token.
    async fn manage<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        body: Option<serde_json::Value>,
    ) -> Result<T, Error> {
        let credential = self.admin_key.clone().or_else(|| match &self.tokens {
            Tokens::One(token) => Some(token.clone()),
            _ => None,
        });
        self.request_json(method, segments, credential, body).await
    }

    /// Sends one request to `segments` presenting `credential` and decodes the answer as `T`,
    /// or the API's error.
    async fn request_json<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        credential: Option<String>,
        body: Option<serde_json::Value>,
    ) -> Result<T, Error> {
        let mut request = self.http.request(method, self.url(segments));
        if let Some(credential) = &credential {
            request = request.bearer_auth(credential);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(Error::Transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(Error::Transport)?;
        if (200..300).contains(&status) {
            serde_json::from_slice(&body).map_err(|e| Error::Unexpected {
                status,
                reason: format!("not the answer expected: {e}"),
            })
        } else {
            let e = crate::json::error(&body).map_err(|e| Error::Unexpected {
                status,
                reason: format!("not an error: {e}"),
            })?;
            Err(Error::Api(Box::new(ApiError {
                status,
                code: e.code,
                message: e.message,
                details: e.details,
                seq: None,
                agreed: Vec::new(),
                replayed: None,
            })))
        }
    }
}

/// A token just issued (`POST /v1/tokens`). `Debug` leaves the token out.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    /// Whose it is.
    pub user: String,
    /// The token: a secret for `user` only.
    pub token: String,
    /// Its ID, as a revocation names it.
    pub token_id: String,
    /// When it was issued and when it expires (RFC 3339, UTC).
    pub issued_at: String,
    pub expires_at: String,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("user", &self.user)
            .field("token", &"<redacted>")
            .field("token_id", &self.token_id)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Every replica manager's status (`GET /v1/admin/replicas`), as far as tools need it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct Replicas {
    /// The RMs that answered.
    pub replicas: Vec<ReplicaStatus>,
    /// The RMs that did not answer in time.
    pub silent: Vec<RmId>,
}

/// One replica manager's status (a subset of the API's fields).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaStatus {
    pub rm: RmId,
    /// The RM's operating-system process id.
    pub pid: u32,
    /// The module it runs (file stem) and its SHA-256.
    pub module: String,
    pub hash: String,
    /// `serving`, `recovering`, `catching-up` or `failed`.
    pub health: String,
    /// Every request up to this one is applied.
    pub applied_through: u64,
    /// Replacements of its replica since the RM started.
    pub swaps: u32,
    /// Why the replica was last replaced.
    pub last_swap_reason: Option<String>,
    /// The canary swap in progress, if one is.
    #[serde(default)]
    pub canary: Option<CanaryStatus>,
    /// How the last canary swap ended (`"… promoted after …"` or `"… refused: …"`).
    #[serde(default)]
    pub last_canary: Option<String>,
}

/// A canary swap in progress: `module` in shadow has matched `compared` of `requests`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct CanaryStatus {
    pub module: String,
    pub compared: u64,
    pub requests: u32,
    pub seconds: u32,
}

/// The chaos links of a cluster (`/v1/admin/chaos…`): what the nodes drop on purpose.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct ChaosLinks {
    /// Links that drop or have dropped, by receiving node.
    pub links: Vec<ChaosLink>,
    /// Nodes asked that did not answer (their links are unknown).
    pub unanswered: Vec<String>,
}

/// One link: `to` drops `percent` % of what it receives from `from`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct ChaosLink {
    pub from: String,
    pub to: String,
    /// 0..=100; 0: healed.
    pub percent: u8,
    /// Datagrams dropped on purpose since `to` started.
    pub dropped: u64,
}
