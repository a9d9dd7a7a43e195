//! The conformance pack: the rules' cases as data (`testkit/pack/conformance.jsonl`), one pack
//! for every implementation — the four in `replicas-wasm/`, and any module a user brings
//! (`dmtbs module check` runs it first).
//!
//! The file is JSON Lines, one [`Line`] each: a `scenario` line starts a scenario on a fresh,
//! empty replica; then `apply` (a request on a given day and the one outcome the rules allow),
//! `import` (a state offered for import and the answer; a refused import must leave the state
//! as it was), and `export` (the state the replica must hold at that point, exactly). Expected
//! outcomes are worked out by hand from `docs/booking-rules.md`; which scenario covers what is
//! said in its `about`. docs/testing.md ("The conformance pack") says how to add a case.

use dmtbs_host::contract::{CanonicalState, Date, Operation, Outcome, Request, StateError};
use dmtbs_host::{ReplicaHandle, ReplicaModule};
use serde::{Deserialize, Serialize};

use crate::build::req;

/// One line of the pack.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Line {
    /// A new scenario, on a fresh replica with an empty state.
    Scenario { name: String, about: String },
    /// Apply `operation` on `today`: the outcome must be `expect`.
    Apply {
        today: Date,
        operation: Operation,
        expect: Outcome,
    },
    /// Import `state`: the answer must be `expect`; a refusal changes nothing.
    Import {
        state: CanonicalState,
        expect: Result<(), StateError>,
    },
    /// The exported state must be exactly `expect`.
    Export { expect: CanonicalState },
}

/// The pack shipped with the project.
pub const BUILTIN: &str = include_str!("../pack/conformance.jsonl");

/// A parsed pack: scenarios of lines.
#[derive(Clone, Debug, Default)]
pub struct Pack {
    pub scenarios: Vec<Scenario>,
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub about: String,
    /// The steps, each with its line number in the file (1-based).
    pub steps: Vec<(usize, Line)>,
}

impl Pack {
    /// The pack shipped with the project.
    pub fn builtin() -> Pack {
        Pack::parse(BUILTIN).expect("the built-in conformance pack parses (checked by its tests)")
    }

    /// Parses a pack; an error names the line. Blank lines are skipped.
    pub fn parse(text: &str) -> anyhow::Result<Pack> {
        let mut pack = Pack::default();
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            if raw.trim().is_empty() {
                continue;
            }
            let line: Line = serde_json::from_str(raw)
                .map_err(|e| anyhow::anyhow!("conformance pack, line {n}: {e}"))?;
            match line {
                Line::Scenario { name, about } => pack.scenarios.push(Scenario {
                    name,
                    about,
                    steps: Vec::new(),
                }),
                step => match pack.scenarios.last_mut() {
                    Some(s) => s.steps.push((n, step)),
                    None => anyhow::bail!("conformance pack, line {n}: a step before any scenario"),
                },
            }
        }
        Ok(pack)
    }

    /// Steps over all scenarios.
    pub fn steps(&self) -> usize {
        self.scenarios.iter().map(|s| s.steps.len()).sum()
    }

    /// Runs every scenario on fresh instances of `module`; every step is checked, and every
    /// mismatch returned (in pack order). A replica failure (trap, fuel, memory) ends its
    /// scenario with a mismatch.
    pub fn run(&self, module: &ReplicaModule) -> Vec<Mismatch> {
        let mut mismatches = Vec::new();
        for scenario in &self.scenarios {
            run_scenario(module, scenario, &mut mismatches);
        }
        mismatches
    }
}

/// A step whose answer is not the expected one.
#[derive(Clone, Debug)]
pub struct Mismatch {
    pub scenario: String,
    /// The step's line in the pack file.
    pub line: usize,
    /// What was asked (a request, an import, an export).
    pub step: String,
    pub expected: String,
    pub got: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "scenario {} (pack line {}): {}\n  expected: {}\n  got:      {}",
            self.scenario, self.line, self.step, self.expected, self.got
        )
    }
}

fn run_scenario(module: &ReplicaModule, scenario: &Scenario, out: &mut Vec<Mismatch>) {
    let mismatch = |line: usize, step: String, expected: String, got: String| Mismatch {
        scenario: scenario.name.clone(),
        line,
        step,
        expected,
        got,
    };
    let replica = match ReplicaHandle::spawn(module, &CanonicalState::empty()) {
        Ok(r) => r,
        Err(e) => {
            out.push(mismatch(
                0,
                "start with an empty state".into(),
                "a running replica".into(),
                e.to_string(),
            ));
            return;
        }
    };
    let mut seq = 0;
    for (line, step) in &scenario.steps {
        match step {
            Line::Apply {
                today,
                operation,
                expect,
            } => {
                seq += 1;
                let request: Request = req(seq, *today, operation.clone());
                let asked = format!(
                    "on {:04}-{:02}-{:02}: {operation:?}",
                    today.year, today.month, today.day
                );
                match replica.apply(request) {
                    Ok(got) if got == *expect => {}
                    Ok(got) => out.push(mismatch(
                        *line,
                        asked,
                        format!("{expect:?}"),
                        format!("{got:?}"),
                    )),
                    Err(failure) => {
                        out.push(mismatch(
                            *line,
                            asked,
                            format!("{expect:?}"),
                            format!("the replica failed: {failure}"),
                        ));
                        return;
                    }
                }
            }
            Line::Import { state, expect } => {
                let before = replica.export_state();
                let asked = format!(
                    "import a state of {} shows and {} bookings",
                    state.shows.len(),
                    state.bookings.len()
                );
                match replica.import_state(state.clone()) {
                    Ok(got) if got == *expect => {
                        if expect.is_err() && replica.export_state() != before {
                            out.push(mismatch(
                                *line,
                                asked,
                                "the refused import changes nothing".into(),
                                "the state changed".into(),
                            ));
                        }
                    }
                    Ok(got) => out.push(mismatch(
                        *line,
                        asked,
                        format!("{expect:?}"),
                        format!("{got:?}"),
                    )),
                    Err(failure) => {
                        out.push(mismatch(
                            *line,
                            asked,
                            format!("{expect:?}"),
                            format!("the replica failed: {failure}"),
                        ));
                        return;
                    }
                }
            }
            Line::Export { expect } => match replica.export_state() {
                Ok(got) if got == *expect => {}
                Ok(got) => out.push(mismatch(
                    *line,
                    "export the state".into(),
                    format!("{expect:?}"),
                    format!("{got:?}"),
                )),
                Err(failure) => {
                    out.push(mismatch(
                        *line,
                        "export the state".into(),
                        format!("{expect:?}"),
                        format!("the replica failed: {failure}"),
                    ));
                    return;
                }
            },
            Line::Scenario { .. } => unreachable!("scenario lines start scenarios"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_pack_parses_and_names_its_scenarios_once() {
        let pack = Pack::parse(BUILTIN).expect("parses");
        assert!(
            pack.scenarios.len() >= 10,
            "{} scenarios",
            pack.scenarios.len()
        );
        let mut names: Vec<&str> = pack.scenarios.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "scenario names are unique");
        assert!(
            pack.scenarios
                .iter()
                .all(|s| !s.steps.is_empty() && !s.about.is_empty())
        );
    }

    #[test]
    fn a_bad_line_is_refused_with_its_number() {
        let text = "{\"scenario\":{\"name\":\"a\",\"about\":\"b\"}}\n\n{\"apply\":{}}\n";
        let e = Pack::parse(text).unwrap_err().to_string();
        assert!(e.contains("line 3"), "{e}");
        let e = Pack::parse("{\"export\":{\"expect\":{\"shows\":[],\"bookings\":[]}}}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("before any scenario"), "{e}");
    }
}
