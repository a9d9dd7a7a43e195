//! The simulator's own tests: determinism, the CI campaign, the planted bugs it must catch, and
//! the seeds of the bugs it found (docs/testing.md, "Deterministic simulation").

use std::time::Instant;

use dmtbs_sim::{Options, PlantedBug, Report, run};

/// Seeds the CI campaign runs (the issue asks at least 500).
const CI_SEEDS: u64 = 500;

fn options() -> Options {
    Options::default()
}

fn as_in_cluster() -> Options {
    Options {
        rm_as_in_cluster: true,
        ..Options::default()
    }
}

fn failures_mention(report: &Report, text: &str) -> bool {
    report.failures.iter().any(|f| f.contains(text))
}

#[test]
fn the_same_seed_replays_the_same_run() {
    for seed in [1, 2, 7, 4387] {
        let a = run(seed, &options());
        let b = run(seed, &options());
        assert_eq!(a.trace_hash, b.trace_hash, "seed {seed}: two runs differ");
        assert_eq!(
            (a.events, a.operations, a.answered),
            (b.events, b.operations, b.answered)
        );
        assert_eq!(a.failures, b.failures);
        assert!(a.events > 1_000 && a.operations > 0, "seed {seed}: {a}");
    }
    assert_ne!(run(1, &options()).trace_hash, run(2, &options()).trace_hash);
}

/// What CI runs (`cargo test --workspace`, a debug build): every seed must pass every checker.
#[test]
fn ci_campaign_of_500_seeds_passes_every_checker() {
    let start: u64 = std::env::var("DMTBS_SIM_START")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let began = Instant::now();
    let mut failed = Vec::new();
    let (mut operations, mut answered, mut events) = (0, 0, 0);
    for seed in start..start + CI_SEEDS {
        let report = run(seed, &options());
        operations += report.operations;
        answered += report.answered;
        events += report.events;
        if !report.passed() {
            eprint!("{report}");
            failed.push(seed);
        }
    }
    let took = began.elapsed();
    eprintln!(
        "seeds {start}..{}: {operations} operations ({answered} answered), {events} events in \
         {:.1} s ({:.0} seeds/s); {} seeds passed, {} failed",
        start + CI_SEEDS - 1,
        took.as_secs_f64(),
        CI_SEEDS as f64 / took.as_secs_f64(),
        CI_SEEDS - failed.len() as u64,
        failed.len()
    );
    assert!(failed.is_empty(), "failing seeds: {failed:?}");
    // The runs did something: most operations got answers through the faults.
    assert!(answered * 10 > operations * 8, "{answered} of {operations}");
}

/// The first failing seed among the CI budget with `bug` planted, if any.
fn first_caught(bug: PlantedBug) -> Option<Report> {
    let options = Options {
        planted: Some(bug),
        ..Options::default()
    };
    (1..=CI_SEEDS)
        .map(|seed| run(seed, &options))
        .find(|r| !r.passed())
}

#[test]
fn a_voter_answering_at_the_first_result_is_caught() {
    let report = first_caught(PlantedBug::VoterFirstResult)
        .expect("answering at one result went unnoticed for the whole CI budget");
    eprint!("{report}");
    // A client got a lying replica's answer: the model disagrees, and so does the history.
    assert!(failures_mention(&report, "(d)"), "{report}");
    assert!(failures_mention(&report, "(a)"), "{report}");
    // The report is replayable: the seed, the command, the last events.
    let text = report.to_string();
    assert!(text.contains(&format!(
        "--seed {} --planted voter-first-result",
        report.seed
    )));
    assert_eq!(report.tail.len(), Options::default().tail);
}

#[test]
fn an_rm_skipping_the_hold_back_queue_is_caught() {
    let report = first_caught(PlantedBug::RmSkipsHoldBack)
        .expect("applying out of order went unnoticed for the whole CI budget");
    eprint!("{report}");
    assert!(failures_mention(&report, "(c)"), "{report}");
}

/// Bug 1, found at seed 4387 (`cluster/src/rm/epochs.rs`, `on_epoch_start`): a request of the
/// old epoch held back beyond the new epoch's start is delivered later in place of the new
/// epoch's request with that number. As the RM was before the fix, the logs diverge; with the fix (now
/// in the real RM too) the run passes.
#[test]
fn bug_1_old_epoch_requests_held_back_beyond_the_start_seed_4387() {
    let today = run(4387, &as_in_cluster());
    assert!(
        failures_mention(&today, "log differs from the history at seq 172"),
        "{today}"
    );
    let fixed = run(4387, &options());
    assert!(fixed.passed(), "{fixed}");
}

/// Bug 2, found at seed 3775 (`cluster/src/rm/durable.rs`, `fresh`): RMs that took part in
/// epoch 1 but hold no request yet report an empty store like lost disks, and the new
/// sequencer refuses to start (`dmtbs up` would stop the cluster). Since bug 7's fix (every
/// RM acknowledges, its promise in the `Ack`: more datagrams, so other draws) seed 3775 runs
/// differently; seed 9753 shows the refusal as the RM was before the fix.
#[test]
fn bug_2_rms_that_merely_received_nothing_look_like_lost_disks_seeds_3775_9753() {
    let today = run(9753, &as_in_cluster());
    assert!(failures_mention(&today, "refused to start"), "{today}");
    for seed in [3775, 9753] {
        let fixed = run(seed, &options());
        assert!(fixed.passed(), "{fixed}");
    }
}

/// The sequencer's side of bug 2 (`sequencer/src/epoch.rs`, fixed): every RM answered, none
/// holds a request, some kept an earlier promise — a new cluster, not a refusal.
#[test]
fn no_refusal_when_no_rm_holds_any_request_seeds_926_and_4956() {
    for seed in [926, 4956] {
        let report = run(seed, &options());
        assert!(report.passed(), "{report}");
    }
}

/// Bug 3, found at seeds 8353 and 24843 (`sequencer/`, fixed): the standby started (or had
/// the RMs promise) epoch 2 and died before numbering; the sequencer, still active in epoch 1
/// and never told, waited for ever for RMs that had moved on — the whole cluster stalled. Now a
/// sequencer that no majority of RMs acknowledges for the failover time recovers again, above.
#[test]
fn bug_3_a_sequencer_deserted_by_the_rms_recovers_seeds_8353_and_24843() {
    for seed in [8353, 24843] {
        let report = run(seed, &options());
        assert!(report.passed(), "{report}");
    }
}

/// Bug 4, found at seed 9945 (`cluster/src/rm/epochs.rs`, `answer_epoch`): an RM answers a
/// sequencer's `EpochWanted` to the owner of the epoch it promised, not to the asker: the
/// sequencer, asking for epoch 1 while the RMs had promised epoch 2 to the standby (since
/// dead), never learns it must ask higher, and the cluster stalls.
#[test]
fn bug_4_epoch_answers_go_to_the_promised_epochs_owner_not_the_asker_seed_9945() {
    let today = run(9945, &as_in_cluster());
    assert!(failures_mention(&today, "(e)"), "{today}");
    let fixed = run(9945, &options());
    assert!(fixed.passed(), "{fixed}");
}

/// Bug 6, found at seeds 12900 and 27080 (`delivery/`, fixed): a request the sequencer
/// numbered just as it was cut off reached no RM. Once a gap is older than `peer_after`,
/// delivery asked only the peers — none had it — and never the sequencer again, which still
/// held it: every RM stalled at that number for good. Now the sequencer is asked after each
/// round of peers.
#[test]
fn bug_6_a_gap_only_the_sequencer_can_fill_is_asked_of_it_again_seeds_12900_27080() {
    for seed in [12900, 27080] {
        let report = run(seed, &options());
        assert!(report.passed(), "{report}");
    }
}

/// Bug 5, found at seed 71690 (and 56254 with the first version of fix 3; `sequencer/src/epoch.rs`
/// and the protocol, fixed). A new sequencer started after the highest `durable_through` of its
/// majority whatever epoch those logs were in: RM 3, never told of epoch 2 (started at 121),
/// reported its epoch-1 log through 128; the next epoch started at 128, and RMs 1, 2 and 4,
/// which took epoch 2's start, refused epoch 1's requests 122–128 for good. Now the new epoch
/// continues the highest epoch among the answers (its chain, from its RMs' longest log): the
/// run passes, and the seed still meets the case — an epoch decided below an RM's log of a
/// superseded epoch.
#[test]
fn bug_5_a_new_epoch_continues_the_highest_epoch_not_the_longest_log_seeds_71690_56254() {
    let report = run(71690, &options());
    assert!(report.passed(), "{report}");
    assert!(report.superseded_logs >= 1, "{report}");
    let report = run(56254, &options());
    assert!(report.passed(), "{report}");
}

/// Bug 7, found at seeds 34791 and 5961 (`cluster/src/rm/epochs.rs` with `sequencer/`, fixed):
/// RMs promised an epoch whose sequencer died before starting it (34791: RM 1 promised epoch 2
/// to the standby; 5961: RMs 1 and 2 promised epoch 3 to the sequencer, which died recovering,
/// while the standby numbered in epoch 2 with the others) and refused the live epoch's
/// requests beyond the end they reported for good. Now an RM's `Ack` carries its promise, and
/// a sequencer that keeps hearing one above its epoch for the failover time recovers above it:
/// the runs pass, and at seed 5961 the sequencer did recover above the promise.
#[test]
fn bug_7_a_promise_whose_epoch_never_starts_is_outbid_seeds_34791_5961() {
    let report = run(34791, &options());
    assert!(report.passed(), "{report}");
    let report = run(5961, &options());
    assert!(report.passed(), "{report}");
    assert!(report.outbid >= 1, "{report}");
}
