//! What the sequencer tests share: a configured sequencer, message builders and readers.

use std::time::{Duration, Instant};

use dmtbs_contract::Date;
use dmtbs_proto::{
    Accepted, ClientRequest, Epoch, EpochState, FeId, Message, NodeId, Outgoing, RmId, Sequenced,
};
use dmtbs_sequencer::{Phase, Sequencer, SequencerConfig};
use dmtbs_testkit::build;

pub const RMS: [u8; 4] = [1, 2, 3, 4];

pub fn today() -> Date {
    build::date(2026, 3, 1)
}

/// The configuration of [`sequencer`]: RMs 1–4, the given batch and buffer limits.
pub fn config(batch_limit: usize, buffer_limit: usize) -> SequencerConfig {
    let mut config = SequencerConfig::new(RMS);
    config.batch_limit = batch_limit;
    config.buffer_limit = buffer_limit;
    config.heartbeat_interval = Duration::from_millis(100);
    config.rm_timeout = Duration::from_secs(1);
    config.epoch_retry = Duration::from_millis(50);
    config
}

/// A sequencer for RMs 1–4 with the given batch and buffer limits, numbering since `now` (see
/// [`started`]).
pub fn sequencer(batch_limit: usize, buffer_limit: usize, now: Instant) -> Sequencer {
    started(config(batch_limit, buffer_limit), now)
}

/// A sequencer of a brand-new cluster that has finished its recovery at `now` and numbers from
/// 1 in epoch 1: every configured RM answered that its store is empty, and acknowledged having
/// everything through 0. Nothing was ticked or sequenced yet; every RM was heard from at `now`.
pub fn started(config: SequencerConfig, now: Instant) -> Sequencer {
    let rms = config.rms.clone();
    let mut s = Sequencer::new(config);
    for &rm in &rms {
        answer(&mut s, epoch_state(rm, 1, 0, 0, true), now);
    }
    for &rm in &rms {
        assert!(ack(&mut s, rm, 0, now).is_empty());
    }
    assert_eq!(
        (s.phase(), s.epoch(), s.start(), s.latest()),
        (Phase::Numbering, 1, 0, 0)
    );
    s
}

/// An RM's answer to `EpochWanted`.
pub fn epoch_state(
    rm: RmId,
    promised: Epoch,
    epoch: Epoch,
    durable_through: u64,
    fresh: bool,
) -> EpochState {
    // In `epoch` from its start at 0 (none for epoch 0).
    let chain = if epoch == 0 { vec![] } else { vec![(epoch, 0)] };
    EpochState {
        rm,
        promised,
        chain,
        durable_through,
        fresh,
    }
}

/// Hands the sequencer an RM's `EpochState`, from that RM.
pub fn answer(s: &mut Sequencer, state: EpochState, now: Instant) -> Vec<Outgoing> {
    s.on_message(
        NodeId::Rm(state.rm),
        Message::EpochState(state),
        today(),
        now,
    )
}

/// Hands the sequencer an RM's `Ack`, from that RM, in the sequencer's epoch (promised).
pub fn ack(s: &mut Sequencer, rm: RmId, through: u64, now: Instant) -> Vec<Outgoing> {
    let epoch = s.epoch();
    let msg = Message::Ack {
        rm,
        through,
        epoch,
        promised: epoch,
    };
    s.on_message(NodeId::Rm(rm), msg, today(), now)
}

pub fn request(fe: FeId, request_id: u64) -> ClientRequest {
    ClientRequest {
        fe,
        request_id,
        key: None,
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
