//! Every node's process as the front end hears of it: the sequencer, a standby, the front ends
//! and the replica managers answer the front end's `Links` poll with their [`NodeInfo`] (pid,
//! start, uptime, numbering) and the chaos links into them. A node answering as another
//! incarnation (another pid or start time) than before was restarted.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use dmtbs_proto::{LinkDrop, NodeId, NodeInfo};
use serde_json::{Value, json};

/// A node's last answer.
#[derive(Debug)]
struct Seen {
    info: NodeInfo,
    /// When it answered (its `uptime_ms` was true then).
    heard: Instant,
    /// Restarts this front end saw: answers from a new incarnation.
    restarts: u32,
    /// The chaos links into it, as it last reported them.
    links: Vec<LinkDrop>,
}

/// The nodes of the cluster and what each last said about itself.
#[derive(Debug, Default)]
pub(super) struct Nodes {
    /// The front end keeping this board (it cannot see its own restarts).
    me: Option<NodeId>,
    /// Every configured node, in the order rows are shown.
    all: Vec<NodeId>,
    seen: BTreeMap<NodeId, Seen>,
    /// Nodes that did not answer the last poll (and have not answered since).
    silent: Vec<NodeId>,
}

/// How a node is named in the JSON: `sequencer`, `standby`, `fe1`, `rm2`.
pub(super) fn role(node: NodeId) -> &'static str {
    match node {
        NodeId::Sequencer => "sequencer",
        NodeId::Standby => "standby",
        NodeId::FrontEnd(_) => "front-end",
        NodeId::Rm(_) => "replica-manager",
    }
}

/// An RFC 3339 time in UTC, to the second.
fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Nodes {
    pub(super) fn watch(&mut self, me: NodeId, all: Vec<NodeId>) {
        self.me = Some(me);
        self.all = all;
    }

    /// `node` answered; returns whether it is another incarnation than the one before (a
    /// restart).
    pub(super) fn report(
        &mut self,
        node: NodeId,
        info: &NodeInfo,
        links: &[LinkDrop],
        now: Instant,
    ) -> bool {
        self.silent.retain(|&n| n != node);
        let restarted = self.seen.get(&node).is_some_and(|old| {
            (old.info.pid, old.info.started_unix_ms) != (info.pid, info.started_unix_ms)
        });
        let restarts = self.seen.get(&node).map_or(0, |old| old.restarts) + u32::from(restarted);
        self.seen.insert(
            node,
            Seen {
                info: info.clone(),
                heard: now,
                restarts,
                links: links.to_vec(),
            },
        );
        restarted
    }

    pub(super) fn unanswered(&mut self, silent: Vec<NodeId>) {
        self.silent = silent;
    }

    /// The process of `node` as JSON fields: start, uptime, restarts (empty before it answered).
    pub(super) fn process_json(
        &self,
        node: NodeId,
        now: Instant,
    ) -> serde_json::Map<String, Value> {
        let mut out = serde_json::Map::new();
        let Some(seen) = self.seen.get(&node) else {
            return out;
        };
        let uptime =
            Duration::from_millis(seen.info.uptime_ms) + now.saturating_duration_since(seen.heard);
        // The node's own word (its host's clock): the same in every answer of one process.
        let started = chrono::DateTime::from_timestamp_millis(seen.info.started_unix_ms as i64)
            .unwrap_or_default();
        out.insert("startedAt".into(), json!(iso(started)));
        out.insert("uptimeSeconds".into(), json!(uptime.as_secs()));
        // A front end's own restarts start its board afresh: it cannot count them.
        let restarts = (Some(node) != self.me).then_some(seen.restarts);
        out.insert("restarts".into(), json!(restarts));
        out.insert(
            "lastHeardMs".into(),
            json!(now.saturating_duration_since(seen.heard).as_millis() as u64),
        );
        out
    }

    /// The sequencer, a standby and the front ends, in configuration order (RMs have rows of
    /// their own).
    pub(super) fn json(&self, now: Instant) -> Vec<Value> {
        self.all
            .iter()
            .filter(|n| !matches!(n, NodeId::Rm(_)))
            .map(|&node| {
                let mut row = serde_json::Map::new();
                row.insert("node".into(), json!(node.to_string()));
                row.insert("role".into(), json!(role(node)));
                row.insert("self".into(), json!(Some(node) == self.me));
                let heard = self.seen.contains_key(&node);
                let silent = self.silent.contains(&node);
                row.insert("answering".into(), json!(heard && !silent));
                let progress = self.seen.get(&node).and_then(|s| s.info.progress.as_ref());
                let state = match (heard, silent, progress) {
                    (_, true, _) => "silent",
                    (false, _, _) => "unknown",
                    (true, false, Some(p)) => p.phase.as_str(),
                    (true, false, None) => "running",
                };
                row.insert("state".into(), json!(state));
                if let Some(p) = progress {
                    row.insert("epoch".into(), json!(p.epoch));
                    row.insert("latest".into(), json!(p.latest));
                }
                row.extend(self.process_json(node, now));
                Value::Object(row)
            })
            .collect()
    }

    /// The links that drop now (chaos), each with its receiving node, as that node last
    /// reported them.
    pub(super) fn chaos_json(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for (&to, seen) in &self.seen {
            for link in seen.links.iter().filter(|l| l.percent > 0) {
                out.push(json!({
                    "from": link.from.to_string(),
                    "to": to.to_string(),
                    "percent": link.percent,
                    "dropped": link.dropped,
                    "answering": !self.silent.contains(&to),
                }));
            }
        }
        out
    }
}
