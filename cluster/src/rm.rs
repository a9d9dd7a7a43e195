//! The replica manager node: delivery (hold-back, gap repair) feeding a sandboxed replica, and
//! results sent to the front end named in each request.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use dmtbs_contract::{CanonicalState, Context, Request};
use dmtbs_host::delivery::{Delivery, DeliveryConfig};
use dmtbs_host::{Limits, ReplicaHandle, ReplicaModule, Runtime};
use dmtbs_net::Transport;
use dmtbs_proto::{FeId, Message, NodeId, Outgoing, ReplicaResult, RmId, Sequenced};
use tokio_util::sync::CancellationToken;

use crate::config::{ClusterConfig, Timeouts};
use crate::wire::Wire;

/// Load the first module of the RM's list that loads (later issues: quarantine, swaps).
fn load_module(config: &ClusterConfig, rm: RmId) -> anyhow::Result<ReplicaModule> {
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

pub async fn run(
    config: Arc<ClusterConfig>,
    rm: RmId,
    transport: Arc<dyn Transport>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let module = load_module(&config, rm)?;
    let replica = Arc::new(ReplicaHandle::spawn(&module, &CanonicalState::empty())?);
    let wire = Wire::new(config.clone(), NodeId::Rm(rm), transport);
    let peers = config.rm_ids();
    let mut delivery = Delivery::new(DeliveryConfig::new(rm, peers), 1);
    let mut tick = tokio::time::interval(Timeouts::ms(config.timeouts.rm_tick_ms));
    tracing::info!(rm, module = module.name(), addr = %wire.transport.local_addr(), "replica manager up");
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
                            out.extend(apply(rm, &replica, ready).await);
                        }
                    }
                    Message::Heartbeat { latest } if from == NodeId::Sequencer => {
                        delivery.on_heartbeat(latest);
                    }
                    Message::Nack { rm: peer, missing } if from == NodeId::Rm(peer) => {
                        out.extend(delivery.on_peer_nack(peer, &missing));
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
