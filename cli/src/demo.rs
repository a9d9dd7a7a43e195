//! `dmtbs replicas-demo`: the four replica implementations side by side, in this process.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use dmtbs_host::contract::CanonicalState;
use dmtbs_host::{ReplicaHandle, ReplicaModule, StateDigest};
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};
use dmtbs_testkit::workload::Workload;

#[derive(clap::Args)]
pub struct Args {
    /// Number of requests.
    #[arg(long, default_value_t = 5_000)]
    requests: usize,
    /// Workload seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Folder holding the built components (default: replicas-wasm/target/components).
    #[arg(long)]
    components: Option<PathBuf>,
}

/// Ok(true): the replicas agreed; Ok(false): they did not.
pub fn run(args: Args) -> anyhow::Result<bool> {
    let Args {
        requests,
        seed,
        components: dir,
    } = args;
    let dir = dir.unwrap_or_else(components::dir);
    let runtime = components::runtime();
    let mut replicas = Vec::new();
    for name in IMPLEMENTATIONS {
        let path = dir.join(format!("{name}.wasm"));
        let module = ReplicaModule::from_file(&runtime, &path)
            .with_context(|| "build the replicas first: just build-replicas")?;
        let handle = ReplicaHandle::spawn(&module, &CanonicalState::empty())?;
        replicas.push((module, handle));
    }
    println!(
        "Loaded {} replica components (zero imports each) from {}",
        replicas.len(),
        dir.display()
    );

    let started = Instant::now();
    let mut workload = Workload::new(seed);
    let (mut applied, mut disagreements) = (0usize, 0usize);
    while applied < requests {
        let batch: Vec<_> = workload
            .by_ref()
            .take(256.min(requests - applied))
            .collect();
        let results: Vec<_> = replicas
            .iter()
            .map(|(_, h)| h.apply_batch(batch.clone()))
            .collect();
        for (module, r) in replicas.iter().map(|(m, _)| m).zip(&results) {
            if let Some(failure) = &r.failure {
                anyhow::bail!("{} failed: {failure}", module.name());
            }
        }
        for (i, request) in batch.iter().enumerate() {
            if results
                .iter()
                .any(|r| r.outcomes[i] != results[0].outcomes[i])
            {
                disagreements += 1;
                println!("seq {}: replicas disagree", request.context.seq);
            }
        }
        applied += batch.len();
    }
    let elapsed = started.elapsed();

    println!(
        "\n{:<10}  {:<16}  {:>6}  {:>8}  state digest",
        "replica", "module sha256", "shows", "bookings"
    );
    let mut digests = Vec::new();
    for (module, handle) in &replicas {
        let state = handle.export_state()?;
        let digest = StateDigest::of(&state);
        println!(
            "{:<10}  {:<16}  {:>6}  {:>8}  {}",
            module.name(),
            &module.hash()[..16],
            state.shows.len(),
            state.bookings.len(),
            &digest.to_string()[..16]
        );
        digests.push(digest);
    }
    let same_state = digests.iter().all(|d| *d == digests[0]);
    println!(
        "\n{requests} requests (seed {seed}) in {:.2?}: {} disagreement(s); final states {}",
        elapsed,
        disagreements,
        if same_state { "identical" } else { "DIFFER" }
    );
    Ok(disagreements == 0 && same_state)
}
