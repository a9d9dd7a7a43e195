//! What the sequencer tests share: a configured sequencer, message builders and readers.

use std::time::{Duration, Instant};

use dmtbs_contract::Date;
use dmtbs_proto::{Accepted, ClientRequest, FeId, Message, NodeId, Outgoing, Sequenced};
use dmtbs_sequencer::{Sequencer, SequencerConfig};
use dmtbs_testkit::build;

pub const RMS: [u8; 4] = [1, 2, 3, 4];

pub fn today() -> Date {
    build::date(2026, 3, 1)
}

/// A sequencer for RMs 1–4 with the given batch and buffer limits.
pub fn sequencer(batch_limit: usize, buffer_limit: usize) -> Sequencer {
    let mut config = SequencerConfig::new(RMS);
    config.batch_limit = batch_limit;
    config.buffer_limit = buffer_limit;
    config.heartbeat_interval = Duration::from_millis(100);
    config.rm_timeout = Duration::from_secs(1);
    Sequencer::new(config)
}

pub fn request(fe: FeId, request_id: u64) -> ClientRequest {
    ClientRequest {
        fe,
        request_id,
        operation: build::schedule("ATWC1234", &format!("ATWC{:04}", request_id % 10_000)),
    }
}

/// Submits these request ids from front end `fe`.
pub fn submit(s: &mut Sequencer, fe: FeId, ids: &[u64], now: Instant) -> Vec<Outgoing> {
    let reqs = ids.iter().map(|&id| request(fe, id)).collect();
    s.on_message(NodeId::FrontEnd(fe), Message::Submit(reqs), today(), now)
}

/// The `Deliver`s multicast to all RMs, in order.
pub fn multicast(out: &[Outgoing]) -> Vec<Vec<Sequenced>> {
    out.iter()
        .filter_map(|o| match o {
            Outgoing::ToAllRms(Message::Deliver(v)) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

/// The `Accepted` answers, with their addressees.
pub fn accepted(out: &[Outgoing]) -> Vec<(NodeId, Vec<Accepted>)> {
    out.iter()
        .filter_map(|o| match o {
            Outgoing::To(to, Message::Accepted(v)) => Some((*to, v.clone())),
            _ => None,
        })
        .collect()
}

pub fn seqs(items: &[Sequenced]) -> Vec<u64> {
    items.iter().map(|i| i.seq).collect()
}
