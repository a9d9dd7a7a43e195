//! The sequencer's integration tests, one module per behaviour.

mod support;

// Numbering: 1, 2, 3, … without gaps, whatever the front ends send.
mod numbering;
// Retransmitted and forged submits: never sequenced twice, never sequenced at all.
mod retransmit;
// The retransmission buffer: release by acknowledgement, liveness, limit, NACK answers.
mod buffer;
// Heartbeats on ticks.
mod heartbeat;
// A new sequencer's recovery: epochs, the start, the lost-majority refusal.
mod epochs;
// One sequencer and four RMs' delivery over a lossy, duplicating, reordering network.
mod simulation;
