//! The front end's Prometheus metrics: series `dmtbs_fe_…`, served at `GET /metrics` on the
//! front end's HTTP port (docs/metrics.md lists them).
//!
//! Every series is defined here. The HTTP layer counts and times the requests it answers
//! ([`Metrics::request`]); the network side (the front end driver in `dmtbs-cluster`) feeds the
//! rest where it happens: the [`Voter`](crate::Voter)'s own [`Counters`] mirrored after each step
//! ([`Metrics::voter`]), each result's latency, retransmissions and re-asked results, operator
//! swaps, and the wire's reject counters (a collector it registers in [`Metrics::registry`]).

use std::time::Duration;

use dmtbs_metrics::SharedRegistry;
use dmtbs_metrics::prometheus_client::metrics::counter::Counter;
use dmtbs_metrics::prometheus_client::metrics::family::Family;
use dmtbs_metrics::prometheus_client::metrics::gauge::Gauge;
use dmtbs_metrics::prometheus_client::metrics::histogram::Histogram;
use dmtbs_metrics::prometheus_client::registry::Unit;
use dmtbs_proto::RmId;

use crate::vote::Counters;

/// A series' labels as (name, value) pairs.
type Labels = Vec<(&'static str, String)>;

/// A family of latency histograms, all with [`dmtbs_metrics::latency_buckets`].
type Latencies = Family<Labels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(dmtbs_metrics::latency_buckets())
}

/// How an answered request ended, as the `outcome` label of `dmtbs_fe_requests_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestOutcome {
    /// The replicas agreed on a success.
    Ok,
    /// The replicas agreed on a refusal by the booking rules (the `code` label names the rule).
    Refused,
    /// Refused by the front end: before sequencing (malformed, or the admin key missing or
    /// wrong), or an idempotency key reused for another request (sequenced, nothing executed;
    /// code `idempotency-key-reused`).
    Invalid,
    /// No agreement, or no cluster to ask (503).
    Unavailable,
}

impl RequestOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestOutcome::Ok => "ok",
            RequestOutcome::Refused => "refused",
            RequestOutcome::Invalid => "invalid",
            RequestOutcome::Unavailable => "unavailable",
        }
    }
}

/// The front end's metrics. Updates are atomic operations on the handles kept here; the
/// registry's lock is taken only to register and to encode.
#[derive(Debug)]
pub struct Metrics {
    /// Where every series below is registered, under the prefix `dmtbs_fe`.
    registry: SharedRegistry,
    /// `requests_total{operation, outcome, code}`.
    requests: Family<Labels, Counter>,
    /// `request_duration_seconds{operation}`: from the request in to the answer out.
    request_duration: Latencies,
    /// `votes_total`, mirrored from [`Counters::votes`].
    votes: Counter,
    /// `no_agreement_total`, mirrored from [`Counters::no_agreement`].
    no_agreement: Counter,
    /// `disagreements_total{rm}`, mirrored from [`Counters::disagreements`].
    disagreements: Family<Labels, Counter>,
    /// `silences_total{rm}`, mirrored from [`Counters::silences`].
    silences: Family<Labels, Counter>,
    /// `results_ignored_total{reason}`: late, duplicate, from an unknown RM (mirrored).
    ignored: Family<Labels, Counter>,
    /// `result_latency_seconds{rm}`: from submission to that RM's result.
    result_latency: Latencies,
    /// `submit_retransmissions_total`: requests sent to the sequencer again.
    submit_retransmissions: Counter,
    /// `results_wanted_total`: sequence numbers whose results were asked for again.
    results_wanted: Counter,
    /// `operator_swaps_total`: swaps operators asked for.
    operator_swaps: Counter,
    /// `audit_write_failures_total`, mirrored from [`crate::AuditLog::failures`].
    audit_write_failures: Counter,
    /// `audit_failing`: 1 while changes are refused because the audit log cannot be written.
    audit_failing: Gauge,
}

fn rm_labels(rm: RmId) -> Labels {
    vec![("rm", rm.to_string())]
}

/// Raises `counter` to `total`, a count kept elsewhere (counts only grow; one writer).
fn mirror(counter: &Counter, total: u64) {
    let shown = counter.get();
    if total > shown {
        counter.inc_by(total - shown);
    }
}

impl Metrics {
    /// Registers every series in a new registry. The per-replica series of `rms` start at zero,
    /// so a replica that never disagrees still has a series to graph.
    pub fn new(rms: &[RmId]) -> Self {
        let m = Metrics {
            registry: dmtbs_metrics::registry("dmtbs_fe"),
            requests: Family::default(),
            request_duration: Family::new_with_constructor(latency_histogram),
            votes: Counter::default(),
            no_agreement: Counter::default(),
            disagreements: Family::default(),
            silences: Family::default(),
            ignored: Family::default(),
            result_latency: Family::new_with_constructor(latency_histogram),
            submit_retransmissions: Counter::default(),
            results_wanted: Counter::default(),
            operator_swaps: Counter::default(),
            audit_write_failures: Counter::default(),
            audit_failing: Gauge::default(),
        };
        // Creating a series is enough; the guards returned are dropped at once.
        for &rm in rms {
            let _ = m.disagreements.get_or_create(&rm_labels(rm));
            let _ = m.silences.get_or_create(&rm_labels(rm));
        }
        for reason in ["late", "duplicate", "unknown_rm"] {
            let _ = m
                .ignored
                .get_or_create(&vec![("reason", reason.to_owned())]);
        }
        {
            let mut r = m
                .registry
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            r.register(
                "requests",
                "Booking requests answered, by operation and outcome (ok, refused by the rules, \
                 invalid: refused before sequencing, unavailable: 503); code is the success kind \
                 or the error code",
                m.requests.clone(),
            );
            r.register_with_unit(
                "request_duration",
                "Time from a booking request's arrival to its answer, by operation",
                Unit::Seconds,
                m.request_duration.clone(),
            );
            r.register("votes", "Ballots decided by agreement", m.votes.clone());
            r.register(
                "no_agreement",
                "Ballots that ended without agreement (answered 503 no-agreement)",
                m.no_agreement.clone(),
            );
            r.register(
                "disagreements",
                "Results that differed from the agreed one, per replica manager",
                m.disagreements.clone(),
            );
            r.register(
                "silences",
                "Ballots closed without a replica manager's result, per replica manager",
                m.silences.clone(),
            );
            r.register(
                "results_ignored",
                "Results not counted: late (ballot closed), duplicate, or from an unknown RM",
                m.ignored.clone(),
            );
            r.register_with_unit(
                "result_latency",
                "Time from a request's submission to a replica manager's result, per RM",
                Unit::Seconds,
                m.result_latency.clone(),
            );
            r.register(
                "submit_retransmissions",
                "Requests sent to the sequencer again because it had not accepted them yet",
                m.submit_retransmissions.clone(),
            );
            r.register(
                "results_wanted",
                "Sequenced requests whose results were asked for again (ResultsWanted)",
                m.results_wanted.clone(),
            );
            r.register(
                "operator_swaps",
                "Module swaps operators asked for",
                m.operator_swaps.clone(),
            );
            r.register(
                "audit_write_failures",
                "Audit log lines that could not be written (each one's request was already \
                 answered; its line is lost and logged at ERROR)",
                m.audit_write_failures.clone(),
            );
            r.register(
                "audit_failing",
                "1 while the audit log cannot be written: every request that would change \
                 something is refused with 503 audit-unavailable",
                m.audit_failing.clone(),
            );
        }
        m
    }

    /// The registry, for series defined elsewhere (the wire's reject counters).
    pub fn registry(&self) -> &SharedRegistry {
        &self.registry
    }

    /// Every series in the Prometheus text format.
    pub fn encode(&self) -> String {
        dmtbs_metrics::encode(&self.registry)
    }

    /// One answered booking request: its operation (`book`, …), how it ended, its code (the
    /// success kind or the error code) and how long it took.
    pub fn request(&self, operation: &str, outcome: RequestOutcome, code: &str, elapsed: Duration) {
        self.requests
            .get_or_create(&vec![
                ("operation", operation.to_owned()),
                ("outcome", outcome.as_str().to_owned()),
                ("code", code.to_owned()),
            ])
            .inc();
        self.request_duration
            .get_or_create(&vec![("operation", operation.to_owned())])
            .observe(elapsed.as_secs_f64());
    }

    /// Brings the voting series up to the voter's own counters.
    pub fn voter(&self, counters: &Counters) {
        mirror(&self.votes, counters.votes);
        mirror(&self.no_agreement, counters.no_agreement);
        for (&rm, &n) in &counters.disagreements {
            mirror(&self.disagreements.get_or_create(&rm_labels(rm)), n);
        }
        for (&rm, &n) in &counters.silences {
            mirror(&self.silences.get_or_create(&rm_labels(rm)), n);
        }
        for (reason, n) in [
            ("late", counters.late),
            ("duplicate", counters.duplicates),
            ("unknown_rm", counters.unknown_rm),
        ] {
            mirror(
                &self
                    .ignored
                    .get_or_create(&vec![("reason", reason.to_owned())]),
                n,
            );
        }
    }

    /// RM `rm`'s result arrived `latency` after its request was submitted.
    pub fn result_latency(&self, rm: RmId, latency: Duration) {
        self.result_latency
            .get_or_create(&rm_labels(rm))
            .observe(latency.as_secs_f64());
    }

    /// `n` requests were sent to the sequencer again.
    pub fn submit_retransmitted(&self, n: u64) {
        self.submit_retransmissions.inc_by(n);
    }

    /// The results of `n` sequenced requests were asked for again.
    pub fn results_wanted(&self, n: u64) {
        self.results_wanted.inc_by(n);
    }

    /// An operator asked for a module swap.
    pub fn operator_swap(&self) {
        self.operator_swaps.inc();
    }

    /// The audit log's state after a write.
    pub fn audit(&self, log: &crate::AuditLog) {
        mirror(&self.audit_write_failures, log.failures());
        self.audit_failing.set(i64::from(log.is_failing()));
    }
}
