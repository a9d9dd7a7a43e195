//! Idempotency keys and retries: how a client gets exactly one execution of an operation even
//! when its request or the answer is lost.
//!
//! Every state-changing call (add-show, remove-show, book, cancel, exchange) carries an
//! `Idempotency-Key` — a fresh random one per call ([`new_idempotency_key`]), or the caller's
//! ([`crate::Client::with_idempotency_key`]). When there is no answer (the connection failed or
//! broke, the timeout passed) or the answer is 503 (`unavailable`, `no-agreement`: a front end
//! losing its sequencer, replicas that did not agree in time), the client sends the *same*
//! request with the *same* key again, up to [`RetryPolicy::tries`] times in all. The replicas
//! remember which keys each user has used: a request they executed before is not executed again,
//! its answer is the first execution's ([`crate::Answer::replayed`] names where that was). So an
//! operation is executed at most once however many tries it takes.
//!
//! Reads (availability, schedule) carry no key unless the caller gives one; they are retried the
//! same way (reading twice changes nothing).

use std::time::Duration;

/// How often and how patiently a request is tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (at least one; 1: never retry).
    pub tries: u32,
    /// The pause before the second try; each further pause is twice the one before.
    pub first_delay: Duration,
}

impl RetryPolicy {
    /// Never retry: one try.
    pub const NONE: RetryPolicy = RetryPolicy {
        tries: 1,
        first_delay: Duration::ZERO,
    };

    /// The default: 3 tries, 0.5 s then 1 s apart — about 2 s for a front end or a sequencer to
    /// come back, plus the tries themselves.
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        tries: 3,
        first_delay: Duration::from_millis(500),
    };

    /// The pause after failed try number `attempt` (1 = the first).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        self.first_delay.saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        )
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A fresh random idempotency key: a UUID version 4 in its usual text form (36 characters, e.g.
/// `8e03978e-40d5-43e8-bc93-6894a57f9324`), as the HTTP `Idempotency-Key` convention suggests.
pub fn new_idempotency_key() -> String {
    // 122 random bits; the version (4) and variant (10) bits as RFC 9562 sets them.
    let bits: u128 =
        rand::random::<u128>() & !(0xF << 76) & !(0x3 << 62) | (0x4 << 76) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
