//! The replica manager node: delivery (hold-back, gap repair) feeding a sandboxed replica, and
//! results sent to the front end named in each request.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use dmtbs_contract::{CanonicalState, Context, Request};
use dmtbs_host::delivery::{Delivery, DeliveryConfig};
use dmtbs_host::{Limits, ReplicaHandle, ReplicaModule, Runtime};
use dmtbs_proto::{FeId, Message, NodeId, Outgoing, ReplicaResult, RmId, Sequenced};
use tokio_util::sync::CancellationToken;

use crate::config::{ClusterConfig, Timeouts};
use crate::wire::Wire;

/// Load the first module of the RM's list that loads (later issues: quarantine, swaps).
pub fn load_module(config: &ClusterConfig, rm: RmId) -> anyhow::Result<ReplicaModule> {
    let section = config
        .rm(rm)
        .ok_or_else(|| anyhow::anyhow!("rm {rm} is not in the cluster configuration"))?;
    let dir = &config.cluster.components;
    let runtime = Runtime::new(Limits::default(), Some(dir.join("../compiled")))?;
    let mut errors = Vec::new();
    for name in &section.modules {
        match ReplicaModule::from_file(&runtime, &dir.join(format!("{name}.wasm"))) {
            Ok(module) => return Ok(module),
            Err(e) => errors.push(e.to_string()),
        }
    }
    anyhow::bail!(
        "rm {rm}: no module of its list loads: {}",
        errors.join("; ")
    )
}

/// A replica for RM `rm`: the first loadable module of its list, with the empty state.
pub fn start_replica(config: &ClusterConfig, rm: RmId) -> anyhow::Result<Arc<ReplicaHandle>> {
    let module = load_module(config, rm)?;
    Ok(Arc::new(ReplicaHandle::spawn(
        &module,
        &CanonicalState::empty(),
    )?))
}

/// Runs RM `rm` hosting `replica` until `shutdown`.
pub async fn run(
    config: Arc<ClusterConfig>,
    rm: RmId,
    replica: Arc<ReplicaHandle>,
    wire: Arc<Wire>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let module = replica.status().module;
    let peers = config.rm_ids();
    let mut delivery = Delivery::new(DeliveryConfig::new(rm, peers), 1);
    let mut tick = tokio::time::interval(Timeouts::ms(config.timeouts.rm_tick_ms));
    // Recent results by sequence number, with the front end they went to: results travel once,
    // and a front end that lost some asks again (`ResultsWanted`).
    let mut recent: BTreeMap<u64, (FeId, ReplicaResult)> = BTreeMap::new();
    tracing::info!(rm, module, addr = %wire.transport.local_addr(), "replica manager up");
    loop {
        let mut out = Vec::new();
        tokio::select! {
            _ = shutdown.cancelled() => break,
            received = wire.recv() => {
                let (from, msg) = received?;
                match msg {
                    Message::Deliver(items) if from == NodeId::Sequencer || matches!(from, NodeId::Rm(_)) => {
                        let ready = delivery.on_deliver(items);
                        if !ready.is_empty() {
                            for o in apply(rm, &replica, ready).await {
                                remember(&mut recent, &o);
                                out.push(o);
                            }
                        }
                    }
                    Message::Heartbeat { latest } if from == NodeId::Sequencer => {
                        delivery.on_heartbeat(latest);
                    }
                    Message::Nack { rm: peer, missing } if from == NodeId::Rm(peer) => {
                        out.extend(delivery.on_peer_nack(peer, &missing));
                    }
                    Message::ResultsWanted(seqs) => {
                        if let NodeId::FrontEnd(fe) = from {
                            let again: Vec<ReplicaResult> = seqs
                                .iter()
                                .filter_map(|seq| recent.get(seq))
                                .filter(|(owner, _)| *owner == fe)
                                .map(|(_, r)| r.clone())
                                .collect();
                            if !again.is_empty() {
                                out.push(Outgoing::To(from, Message::Results(again)));
                            }
                        }
                    }
                    Message::Verdict(verdict) if matches!(from, NodeId::FrontEnd(_)) => {
                        // Acting on verdicts (three strikes, probing the silent) is the
                        // recovery layer's job; recorded here for the operator.
                        if verdict.wrong.contains(&rm) || verdict.silent.contains(&rm) {
                            tracing::warn!(seq = verdict.seq, ?verdict, "front end reports this replica");
                        }
                    }
                    other => tracing::debug!(?from, ?other, "message not for a replica manager; ignored"),
                }
            }
            _ = tick.tick() => {
                out.extend(delivery.nack(Instant::now()));
                out.push(delivery.ack());
            }
        }
        for o in out {
            wire.send(o).await;
        }
    }
    tracing::info!(
        rm,
        delivered = delivery.delivered_through(),
        "replica manager stopped"
    );
    Ok(())
}

/// Results remembered for `ResultsWanted`: enough for every request in flight many times over.
const RECENT_RESULTS: usize = 16_384;

fn remember(recent: &mut BTreeMap<u64, (FeId, ReplicaResult)>, out: &Outgoing) {
    if let Outgoing::To(NodeId::FrontEnd(fe), Message::Results(results)) = out {
        for r in results {
            recent.insert(r.seq, (*fe, r.clone()));
        }
    }
    while recent.len() > RECENT_RESULTS {
        recent.pop_first();
    }
}

/// Apply requests delivered in order on the replica's thread; one `Results` per front end.
async fn apply(rm: RmId, replica: &Arc<ReplicaHandle>, ready: Vec<Sequenced>) -> Vec<Outgoing> {
    let requests: Vec<Request> = ready
        .iter()
        .map(|s| Request {
            context: Context {
                seq: s.seq,
                today: s.today,
            },
            operation: s.operation.clone(),
        })
        .collect();
    let handle = replica.clone();
    let batch = tokio::task::spawn_blocking(move || handle.apply_batch(requests))
        .await
        .expect("the replica thread's caller does not panic");
    if let Some(failure) = &batch.failure {
        // The replica is dead until replaced (recovery layer); the front ends see it silent.
        tracing::error!(rm, error.type = failure.kind(), %failure, "replica failed");
    }
    let mut per_fe: BTreeMap<FeId, Vec<ReplicaResult>> = BTreeMap::new();
    for (s, outcome) in ready.iter().zip(batch.outcomes) {
        per_fe.entry(s.fe).or_default().push(ReplicaResult {
            rm,
            seq: s.seq,
            request_id: s.request_id,
            outcome,
        });
    }
    per_fe
        .into_iter()
        .map(|(fe, results)| Outgoing::To(NodeId::FrontEnd(fe), Message::Results(results)))
        .collect()
}
