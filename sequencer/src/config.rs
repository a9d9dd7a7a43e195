//! The sequencer's tunables, each with a documented default.

use std::time::Duration;

use dmtbs_proto::{NodeId, RmId};

/// Default [`SequencerConfig::buffer_limit`]: at a few thousand requests a second this is
/// several seconds of traffic, far longer than a live RM takes to acknowledge.
pub const DEFAULT_BUFFER_LIMIT: usize = 16_384;
/// Default [`SequencerConfig::batch_limit`]: a canonical request encodes to well under 100
/// bytes, so 32 keep a `Deliver` inside one unfragmented datagram.
pub const DEFAULT_BATCH_LIMIT: usize = 32;
/// Default [`SequencerConfig::heartbeat_interval`]: bounds how long a lost *last* `Deliver`
/// goes unnoticed when traffic is idle.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_millis(100);
/// Default [`SequencerConfig::rm_timeout`]: many missed acknowledgement periods (RMs ack on
/// their ticks, typically every 100 ms) before an RM stops pinning the buffer.
pub const DEFAULT_RM_TIMEOUT: Duration = Duration::from_secs(3);
/// Default [`SequencerConfig::dedup_window`]: far more requests than one front end keeps in
/// flight, so only a retransmission of a long-abandoned request can fall outside it.
pub const DEFAULT_DEDUP_WINDOW: usize = 4_096;
/// Default [`SequencerConfig::epoch_retry`]: a new sequencer asks the RMs again this often
/// while it learns where the history ends, and repeats its `EpochStart` while it waits for
/// them to catch up with it; a lost datagram costs a restart no more than this.
pub const DEFAULT_EPOCH_RETRY: Duration = Duration::from_millis(50);

/// How a [`Sequencer`](crate::Sequencer) is set up; [`SequencerConfig::new`] gives the defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SequencerConfig {
    /// Which sequencer this is: [`NodeId::Sequencer`] (the default) numbers in odd epochs,
    /// [`NodeId::Standby`] in even ones ([`NodeId::sequencer_of`]).
    pub me: NodeId,
    /// The replica managers of the cluster: whose acknowledgements release the buffer, whose
    /// `Ack`/`Nack`/`EpochState` are accepted at all, and of which a majority must answer a new
    /// sequencer before it numbers anything.
    pub rms: Vec<RmId>,
    /// Most sequenced requests kept for retransmission. Past it the oldest are dropped even if
    /// some RM has not acknowledged them; that RM repairs from its peers.
    pub buffer_limit: usize,
    /// Most requests packed into one `Deliver`.
    pub batch_limit: usize,
    /// Time between two `Heartbeat`s.
    pub heartbeat_interval: Duration,
    /// An RM not heard from (`Ack` or `Nack`) for this long is not *live*: it no longer holds
    /// back the release of the buffer.
    pub rm_timeout: Duration,
    /// Request ids remembered per front end to recognise retransmissions (the highest ones).
    pub dedup_window: usize,
    /// While recovering, time between two rounds of `EpochWanted`; while starting, between two
    /// `EpochStart`s (see the crate docs).
    pub epoch_retry: Duration,
}

impl SequencerConfig {
    /// The defaults for a cluster of these RMs.
    pub fn new(rms: impl IntoIterator<Item = RmId>) -> Self {
        SequencerConfig {
            me: NodeId::Sequencer,
            rms: rms.into_iter().collect(),
            buffer_limit: DEFAULT_BUFFER_LIMIT,
            batch_limit: DEFAULT_BATCH_LIMIT,
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            rm_timeout: DEFAULT_RM_TIMEOUT,
            dedup_window: DEFAULT_DEDUP_WINDOW,
            epoch_retry: DEFAULT_EPOCH_RETRY,
        }
    }
}
