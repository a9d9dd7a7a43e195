//! Front ends hand each other their token revocation lists, so a token revoked through one front
//! end is refused by every front end of the cluster file — also one that was down at the time.
//!
//! Each front end keeps its list on disk ([`Auth::with_store`]). This task, beside the HTTP
//! server, pushes the whole list (`POST /v1/admin/revocations`, the operator's key) to every other
//! front end as soon as it changed here, and pulls theirs (`GET /v1/admin/revocations`) when it
//! starts and every [`PULL_EVERY`]. Lists only grow and merge by union, so the order of pushes
//! and pulls does not matter; a front end that was unreachable gets the entry at its next pull
//! or the next push. The list is small (an entry per revocation, kept until every token it could
//! match has expired).

use std::sync::Arc;
use std::time::Duration;

use dmtbs_frontend::{Auth, Revocations};
use dmtbs_proto::FeId;
use tokio_util::sync::CancellationToken;

use crate::config::ClusterConfig;

/// How often a front end asks the others for their lists (besides at start).
pub const PULL_EVERY: Duration = Duration::from_secs(5);
/// How long one exchange with one front end may take.
const PATIENCE: Duration = Duration::from_secs(2);

/// Runs until `shutdown`.
pub(crate) async fn exchange(
    config: Arc<ClusterConfig>,
    me: FeId,
    auth: Arc<Auth>,
    shutdown: CancellationToken,
) {
    let peers: Vec<(FeId, String)> = config
        .frontends
        .iter()
        .filter(|f| f.id != me)
        .map(|f| (f.id, format!("http://{}/v1/admin/revocations", f.http)))
        .collect();
    if peers.is_empty() {
        return;
    }
    let Ok(http) = reqwest::Client::builder().timeout(PATIENCE).build() else {
        tracing::error!(
            fe = me,
            "cannot make an HTTP client: revocations are not exchanged"
        );
        return;
    };
    let key = config.cluster.admin_key.clone();
    let mut pull = tokio::time::interval(PULL_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = auth.changed() => {
                let list = auth.revocations();
                for (fe, url) in &peers {
                    let sent = http.post(url).bearer_auth(&key).json(&list).send().await;
                    match sent {
                        Ok(r) if r.status().is_success() => {}
                        Ok(r) => tracing::warn!(fe = me, to = fe, status = r.status().as_u16(),
                            "a front end refused this one's revocation list"),
                        Err(e) => tracing::debug!(fe = me, to = fe, error = %e,
                            "revocation list not handed over (it pulls it later)"),
                    }
                }
            }
            _ = pull.tick() => {
                for (fe, url) in &peers {
                    let list = match http.get(url).bearer_auth(&key).send().await {
                        Ok(r) if r.status().is_success() => r.json::<Revocations>().await,
                        Ok(r) => {
                            tracing::warn!(fe = me, from = fe, status = r.status().as_u16(),
                                "a front end refused to hand over its revocation list");
                            continue;
                        }
                        Err(e) => Err(e),
                    };
                    match list {
                        Ok(list) => {
                            if let Err(e) = auth.merge(&list) {
                                tracing::error!(fe = me, error = %e,
                                    "cannot store the revocation list");
                            }
                        }
                        Err(e) => tracing::debug!(fe = me, from = fe, error = %e,
                            "no revocation list from a front end (down?)"),
                    }
                }
            }
        }
    }
}
