//! Conformance: the pack of the rules' cases (`testkit/pack/conformance.jsonl`; what it holds
//! and how to add a case: docs/testing.md, "The conformance pack") on every implementation.
//! The same pack is the first thing `dmtbs module check` runs on a module a user brings.

use std::collections::BTreeSet;

use dmtbs_checker::Model;
use dmtbs_host::contract::{BookingError as E, Operation, Success};
use dmtbs_testkit::components;
use dmtbs_testkit::conformance::{Line, Pack};

use crate::fleet::modules;

#[test]
fn every_implementation_passes_the_whole_pack() {
    let pack = Pack::builtin();
    let mut failures = Vec::new();
    for module in &modules().1 {
        for m in pack.run(module) {
            failures.push(format!("{}: {m}", module.name()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatch(es) in the pack ({} scenarios, {} steps):\n{}",
        failures.len(),
        pack.scenarios.len(),
        pack.steps(),
        failures.join("\n")
    );
}

/// The pack's answers were worked out by hand from the rules; the independent model of the rules
/// (`checker/src/model.rs`, written from the same two documents by an author who read none of the
/// replicas) must give every one of them too, so a hand-worked slip and a misreading all four
/// implementations share cannot both hide. The model imports and exports no state, so scenarios
/// with an `import` step are left to the implementations.
#[test]
fn the_independent_model_gives_every_answer_of_the_pack() {
    let pack = Pack::builtin();
    let mut failures = Vec::new();
    let mut checked = 0;
    for scenario in &pack.scenarios {
        if scenario
            .steps
            .iter()
            .any(|(_, step)| matches!(step, Line::Import { .. }))
        {
            continue;
        }
        let mut model = Model::new();
        for (line, step) in &scenario.steps {
            if let Line::Apply {
                today,
                operation,
                expect,
            } = step
            {
                checked += 1;
                let (got, _) = model.apply(*today, operation);
                if got != *expect {
                    failures.push(format!(
                        "scenario {} (pack line {line}): {operation:?}\n  the pack: {expect:?}\n  the model: {got:?}",
                        scenario.name
                    ));
                }
            }
        }
    }
    assert!(checked > 300, "only {checked} steps checked");
    assert!(
        failures.is_empty(),
        "{} answer(s) of the pack differ from the model's:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The pack is only worth its cases if they can fail: the planted weekly-limit bug (a 4th
/// other-area movie let through) is caught, and in every scenario it fails the first wrong
/// answer is a weekly-limit refusal (what follows in that scenario differs as a consequence).
#[test]
fn the_pack_catches_the_planted_weekly_limit_bug() {
    let module = components::load(&modules().0, "faulty-logic");
    let mismatches = Pack::builtin().run(&module);
    assert!(!mismatches.is_empty(), "faulty-logic passed the whole pack");
    let mut scenarios = BTreeSet::new();
    for m in &mismatches {
        if scenarios.insert(m.scenario.clone()) {
            assert!(
                m.expected.contains("WeeklyLimit"),
                "faulty-logic's first wrong answer in a scenario is at the weekly limit: {m}"
            );
        }
    }
    println!(
        "faulty-logic: caught in {} scenario(s), {} step(s); first:\n{}",
        scenarios.len(),
        mismatches.len(),
        mismatches[0]
    );
}

/// Every operation, every success and every error of the contract is expected somewhere in the
/// pack, and state import is exercised both ways (exhaustive matches: a new variant of the
/// contract fails to compile here until the pack covers it).
#[test]
fn the_pack_reaches_every_operation_success_and_error() {
    let pack = Pack::builtin();
    let mut seen = BTreeSet::new();
    for (_, line) in pack.scenarios.iter().flat_map(|s| &s.steps) {
        match line {
            Line::Apply {
                operation, expect, ..
            } => {
                seen.insert(match operation {
                    Operation::AddShow(_) => "op add-show",
                    Operation::RemoveShow(_) => "op remove-show",
                    Operation::Availability(_) => "op availability",
                    Operation::Book(_) => "op book",
                    Operation::Schedule(_) => "op schedule",
                    Operation::Cancel(_) => "op cancel",
                    Operation::Exchange(_) => "op exchange",
                });
                seen.insert(match expect {
                    Ok(Success::ShowAdded) => "ok show-added",
                    Ok(Success::ShowUpdated(_)) => "ok show-updated",
                    Ok(Success::ShowRemoved(_)) => "ok show-removed",
                    Ok(Success::Availability(_)) => "ok availability",
                    Ok(Success::Booked(_)) => "ok booked",
                    Ok(Success::Schedule(_)) => "ok schedule",
                    Ok(Success::Cancelled(_)) => "ok cancelled",
                    Ok(Success::Exchanged(_)) => "ok exchanged",
                    Err(E::InvalidUserId) => "err invalid-user-id",
                    Err(E::InvalidShowId) => "err invalid-show-id",
                    Err(E::UnknownMovie) => "err unknown-movie",
                    Err(E::InvalidCapacity) => "err invalid-capacity",
                    Err(E::InvalidTickets) => "err invalid-tickets",
                    Err(E::NotAuthorized) => "err not-authorized",
                    Err(E::OutsideWindow) => "err outside-window",
                    Err(E::ShowNotFound) => "err show-not-found",
                    Err(E::PastShow) => "err past-show",
                    Err(E::CapacityBelowBooked) => "err capacity-below-booked",
                    Err(E::SameShowOtherArea) => "err same-show-other-area",
                    Err(E::WeeklyLimit) => "err weekly-limit",
                    Err(E::ShowFull(_)) => "err show-full",
                    Err(E::NotBooked) => "err not-booked",
                    Err(E::TooManyTickets(_)) => "err too-many-tickets",
                    Err(E::SameShow) => "err same-show",
                });
            }
            Line::Import { expect: Ok(()), .. } => {
                seen.insert("import accepted");
            }
            Line::Import { expect: Err(_), .. } => {
                seen.insert("import refused");
            }
            Line::Export { .. } => {
                seen.insert("export");
            }
            Line::Scenario { .. } => {}
        }
    }
    // 7 operations + 8 successes + 16 errors + import both ways + export.
    assert_eq!(seen.len(), 7 + 8 + 16 + 3, "reached: {seen:?}");
}
