//! `dmtbs module check FILE`: is this module fit to be swapped into a cluster? Offline, without
//! a cluster: it loads the module as an RM would (the import allow-list, the contract), runs the
//! conformance pack (the rules' cases as data, `dmtbs_testkit::conformance`), then replays a
//! seeded workload through it beside the four reference implementations, comparing every
//! result, the state digest at every checkpoint, and a state transfer in and out. Exit 0 only
//! for a module that passed the pack and agreed everywhere; otherwise the first mismatch of
//! each is shown.

use std::path::PathBuf;
use std::time::Instant;

use dmtbs_host::contract::{CanonicalState, Outcome, Request};
use dmtbs_host::{ReplicaHandle, ReplicaModule, StateDigest};
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};
use dmtbs_testkit::conformance::Pack;
use dmtbs_testkit::workload::Workload;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check a replica module offline: it loads (only the deterministic WASI may be imported),
    /// implements the contract, passes the conformance pack, and agrees with the four reference
    /// implementations on a seeded workload — every result, the state digest every `--checkpoint-every` requests, and a
    /// state exported by a reference imported into it and back. Exit 0: it agreed everywhere;
    /// 1: it diverged (the first divergence is shown); 2: it could not be checked.
    Check(CheckArgs),
    /// Add a module where a cluster's swaps find it by name (its components folder): checked
    /// first exactly as `check` does — nothing is copied unless it passes (exit 1) — then
    /// copied in atomically. The folder: --components, else the `[cluster] components` of
    /// --cluster, else of the cluster `dmtbs up` runs from this folder, else this folder's
    /// replicas-wasm/target/components (where `dmtbs up` started here looks).
    Add(AddArgs),
}

#[derive(clap::Args)]
pub struct AddArgs {
    /// The module (a WebAssembly component file).
    file: PathBuf,
    /// The name swaps will use (`dmtbs swap --module NAME`; default: the file's stem): 1 to
    /// 128 letters, digits, `.`, `_` or `-`, not starting with `.`.
    #[arg(long)]
    name: Option<String>,
    /// The cluster file whose `[cluster] components` folder receives the module.
    #[arg(long, value_name = "FILE", conflicts_with = "components")]
    cluster: Option<PathBuf>,
    /// The components folder itself.
    #[arg(long, value_name = "DIR")]
    components: Option<PathBuf>,
    /// Folder of the reference implementations the check compares with (default:
    /// replicas-wasm/target/components).
    #[arg(long, value_name = "DIR")]
    references: Option<PathBuf>,
    /// Replace a different module already there under that name.
    #[arg(long)]
    replace: bool,
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The module (a WebAssembly component file).
    file: PathBuf,
    /// Requests in the workload.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    requests: u64,
    /// Workload seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Compare state digests after every this many requests.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_every: u64,
    /// Folder holding the reference implementations (default: replicas-wasm/target/components).
    #[arg(long)]
    components: Option<PathBuf>,
    /// A conformance pack (JSON Lines, docs/testing.md) to run instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pack: Option<PathBuf>,
    /// Run the wide workload instead (`Workload::wide`: `today` back and forth across year
    /// ends and leap days, every malformed date, wide ranges — the differential's coverage gate).
    #[arg(long)]
    wide: bool,
}

pub fn run(command: Command) -> anyhow::Result<bool> {
    match command {
        Command::Check(args) => check(args),
        Command::Add(args) => add(args),
    }
}

/// Where modules live: the components folder of a cluster.
fn components_folder(args: &AddArgs) -> anyhow::Result<PathBuf> {
    if let Some(dir) = &args.components {
        return Ok(dir.clone());
    }
    let file = match &args.cluster {
        Some(file) => Some(file.clone()),
        None => {
            let local = crate::token::local_run_dir().join(dmtbs_cluster::rundir::CONFIG_FILE);
            local.is_file().then_some(local)
        }
    };
    match file {
        Some(file) => Ok(dmtbs_cluster::ClusterConfig::load(&file)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
            .cluster
            .components),
        // Where `dmtbs up` run from this folder would look (its embedded default), not the
        // folder this binary was built in.
        None => Ok(std::env::current_dir()?.join(DEFAULT_COMPONENTS)),
    }
}

/// `[cluster] components` of `dmtbs up`'s embedded configuration, relative to its folder.
const DEFAULT_COMPONENTS: &str = "replicas-wasm/target/components";

/// A module name swaps can use (the front end's rule for `dmtbs swap --module`).
fn valid_name(name: &str) -> anyhow::Result<()> {
    let fine = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    anyhow::ensure!(
        fine,
        "the module name {name:?} cannot be swapped in: it must be 1 to 128 letters, digits, \
         `.`, `_` or `-`, not starting with `.` (choose one with --name)"
    );
    Ok(())
}

fn add(args: AddArgs) -> anyhow::Result<bool> {
    let name = match &args.name {
        Some(n) => n.clone(),
        None => args
            .file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned(),
    };
    valid_name(&name)?;
    let dir = components_folder(&args)?;
    let target = dir.join(format!("{name}.wasm"));
    let bytes = std::fs::read(&args.file)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", args.file.display()))?;
    let existing = std::fs::read(&target).ok();
    if existing.as_deref() == Some(bytes.as_slice()) {
        println!("{name} is already in {} (the same module)", dir.display());
        return Ok(true);
    }
    if existing.is_some() && !args.replace {
        anyhow::bail!(
            "{} already holds a different module named {name}: choose another --name, or \
             --replace it (RMs running the old one keep it until swapped)",
            dir.display()
        );
    }
    let passed = check(CheckArgs {
        file: args.file.clone(),
        requests: 20_000,
        seed: 1,
        checkpoint_every: 1_000,
        components: args.references.clone(),
        pack: None,
        wide: false,
    })?;
    if !passed {
        println!("not added: the module failed the check above");
        return Ok(false);
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
    // Written beside, then renamed: an RM loading it meanwhile sees the old file or the new one.
    let partial = dir.join(format!(".{name}.wasm.partial"));
    std::fs::write(&partial, &bytes)
        .and_then(|()| std::fs::rename(&partial, &target))
        .map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            anyhow::anyhow!("writing {}: {e}", target.display())
        })?;
    println!(
        "added {name} to {} — `dmtbs swap --rm N --module {name}` runs it (a canary first)",
        dir.display()
    );
    Ok(true)
}

/// What went wrong first.
enum Divergence {
    Failed {
        request: Box<Request>,
        failure: String,
    },
    Result {
        request: Box<Request>,
        expected: Outcome,
        got: Outcome,
    },
    State {
        after: u64,
        expected: StateDigest,
        got: StateDigest,
    },
    Transfer(String),
}

fn check(args: CheckArgs) -> anyhow::Result<bool> {
    let runtime = components::runtime();
    let candidate = ReplicaModule::from_file(&runtime, &args.file)?;
    println!(
        "{}: loads (sha256 {}), implements dmtbs:booking/replica; imports: {}",
        args.file.display(),
        &candidate.hash()[..16],
        if candidate.imports().is_empty() {
            "none".to_owned()
        } else {
            format!(
                "{} (WASI, served closed and deterministic)",
                candidate.imports().join(", ")
            )
        }
    );
    let pack_passed = conformance(&candidate, args.pack.as_deref())?;
    let dir = args.components.clone().unwrap_or_else(components::dir);
    let mut references = Vec::new();
    for name in IMPLEMENTATIONS {
        let path = dir.join(format!("{name}.wasm"));
        let module = ReplicaModule::from_file(&runtime, &path).map_err(|e| {
            anyhow::anyhow!("reference {name}: {e} (build them: just build-replicas)")
        })?;
        references.push(module);
    }
    let started = Instant::now();
    let outcome = replay(&candidate, &references, &args)?;
    let took = started.elapsed();
    match outcome {
        Ok(checkpoints) => {
            println!(
                "agrees with {} on {} requests (seed {}{}), {checkpoints} state digests and a \
                 state transfer in and out, in {took:.2?}",
                IMPLEMENTATIONS.join(", "),
                args.requests,
                args.seed,
                if args.wide { ", wide" } else { "" }
            );
            Ok(pack_passed)
        }
        Err(divergence) => {
            println!("DIVERGES (seed {}):", args.seed);
            match divergence {
                Divergence::Failed { request, failure } => println!(
                    "  request {} failed in the module: {failure}\n  request: {request:?}",
                    request.context.seq
                ),
                Divergence::Result {
                    request,
                    expected,
                    got,
                } => println!(
                    "  request {}: expected {expected:?} (the references agree), got {got:?}\n  \
                     request: {request:?}",
                    request.context.seq
                ),
                Divergence::State {
                    after,
                    expected,
                    got,
                } => println!(
                    "  state after request {after}: digest {got}, the references' {expected} \
                     (every result agreed until then)"
                ),
                Divergence::Transfer(what) => println!("  state transfer: {what}"),
            }
            Ok(false)
        }
    }
}

/// The conformance pack (the built-in one, or `file`) on the candidate: true when every step
/// gave the answer the rules give.
fn conformance(candidate: &ReplicaModule, file: Option<&std::path::Path>) -> anyhow::Result<bool> {
    let (pack, name) = match file {
        None => (Pack::builtin(), "the conformance pack".to_owned()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("reading the pack {}: {e}", path.display()))?;
            (Pack::parse(&text)?, format!("the pack {}", path.display()))
        }
    };
    let mismatches = pack.run(candidate);
    if mismatches.is_empty() {
        println!(
            "passes {name}: {} scenarios, {} steps",
            pack.scenarios.len(),
            pack.steps()
        );
        return Ok(true);
    }
    let scenarios: std::collections::BTreeSet<&str> =
        mismatches.iter().map(|m| m.scenario.as_str()).collect();
    println!(
        "FAILS {name}: {} of {} steps wrong, in {} of {} scenarios; the first:\n  {}",
        mismatches.len(),
        pack.steps(),
        scenarios.len(),
        pack.scenarios.len(),
        mismatches[0].to_string().replace('\n', "\n  ")
    );
    Ok(false)
}

/// The seeded workload through the candidate and the references: `Ok(Ok(checkpoints))` when
/// the candidate agreed throughout, `Ok(Err(_))` at its first divergence, `Err(_)` when the
/// references themselves cannot be run or disagree (then nothing can be judged).
fn replay(
    candidate: &ReplicaModule,
    references: &[ReplicaModule],
    args: &CheckArgs,
) -> anyhow::Result<Result<u64, Divergence>> {
    let empty = CanonicalState::empty();
    let module = ReplicaHandle::spawn(candidate, &empty)?;
    let refs: Vec<ReplicaHandle> = references
        .iter()
        .map(|m| ReplicaHandle::spawn(m, &empty))
        .collect::<Result<_, _>>()?;
    let mut workload = if args.wide {
        Workload::wide(args.seed)
    } else {
        Workload::new(args.seed)
    };
    let (mut applied, mut checkpoints, mut transferred) = (0u64, 0u64, false);
    while applied < args.requests {
        let until_checkpoint = args.checkpoint_every - applied % args.checkpoint_every;
        let n = (args.requests - applied).min(until_checkpoint).min(256);
        let batch: Vec<Request> = workload.by_ref().take(n as usize).collect();
        let expected = reference_outcomes(&refs, references, &batch)?;
        let got = module.apply_batch(batch.clone());
        for (i, request) in batch.iter().enumerate() {
            let Some(outcome) = got.outcomes.get(i) else {
                let failure = got
                    .failure
                    .as_ref()
                    .map_or("no result".to_owned(), ToString::to_string);
                return Ok(Err(Divergence::Failed {
                    request: Box::new(request.clone()),
                    failure,
                }));
            };
            if *outcome != expected[i] {
                return Ok(Err(Divergence::Result {
                    request: Box::new(request.clone()),
                    expected: expected[i].clone(),
                    got: outcome.clone(),
                }));
            }
        }
        applied += n;
        // The digest it keeps (rules §7.1) after every batch: cheap, and it pins a bookkeeping
        // slip to the batch that made it. Every export below is checked against it too.
        let expected = refs[0].digest()?;
        match module.digest() {
            Ok(got) if got == expected => {}
            Ok(got) => {
                return Ok(Err(Divergence::State {
                    after: applied,
                    expected,
                    got,
                }));
            }
            Err(e) => {
                return Ok(Err(Divergence::Failed {
                    request: Box::new(batch[batch.len() - 1].clone()),
                    failure: e.to_string(),
                }));
            }
        }
        if applied % args.checkpoint_every == 0 || applied == args.requests {
            let reference = refs[0].export_state()?;
            let expected = StateDigest::of(&reference);
            let got = match module.export_state() {
                Ok(state) => StateDigest::of(&state),
                Err(e) => {
                    return Ok(Err(Divergence::Transfer(format!(
                        "exporting the state after request {applied} failed: {e}"
                    ))));
                }
            };
            if got != expected {
                return Ok(Err(Divergence::State {
                    after: applied,
                    expected,
                    got,
                }));
            }
            checkpoints += 1;
            // Halfway, the module becomes a replacement: a fresh instance takes a reference's
            // state (as after a swap) and goes on from it; the reference takes the module's.
            if !transferred && applied * 2 >= args.requests {
                transferred = true;
                if let Err(e) = module.replace(candidate, reference) {
                    return Ok(Err(Divergence::Transfer(format!(
                        "importing a reference's state after request {applied}: {e}"
                    ))));
                }
                // The module must hold what it was given: one that accepted the state but kept
                // another (or none) would hand it on to the reference below.
                let exported = match module.export_state() {
                    Ok(state) if StateDigest::of(&state) == expected => state,
                    Ok(state) => {
                        return Ok(Err(Divergence::Transfer(format!(
                            "after importing a reference's state (request {applied}) it exports \
                             another: digest {}, the reference's {expected}",
                            StateDigest::of(&state)
                        ))));
                    }
                    Err(e) => {
                        return Ok(Err(Divergence::Transfer(format!(
                            "exporting the state it imported after request {applied} failed: {e}"
                        ))));
                    }
                };
                refs[0]
                    .replace(&references[0], exported)
                    .map_err(|e| anyhow::anyhow!("a reference refused the module's state: {e}"))?;
            }
        }
    }
    Ok(Ok(checkpoints))
}

/// What the references answer: unanimous, or an error (the references must agree for the
/// check to mean anything).
fn reference_outcomes(
    refs: &[ReplicaHandle],
    modules: &[ReplicaModule],
    batch: &[Request],
) -> anyhow::Result<Vec<Outcome>> {
    let results: Vec<_> = refs.iter().map(|r| r.apply_batch(batch.to_vec())).collect();
    for (module, result) in modules.iter().zip(&results) {
        if let Some(failure) = &result.failure {
            anyhow::bail!("reference {} failed: {failure}", module.name());
        }
    }
    for (i, request) in batch.iter().enumerate() {
        if results
            .iter()
            .any(|r| r.outcomes[i] != results[0].outcomes[i])
        {
            anyhow::bail!(
                "the reference implementations disagree on request {}: nothing can be judged",
                request.context.seq
            );
        }
    }
    Ok(results
        .into_iter()
        .next()
        .map(|r| r.outcomes)
        .unwrap_or_default())
}
