//! Scenario 2: SIGKILL of an RM's process under `dmtbs up`.

use super::*;

pub(crate) async fn kill_scenario(args: &Args) -> anyhow::Result<()> {
    println!("\n## RM kill (dmtbs up, one process per node)");
    let (dir, config) = cluster_dir(args)?;
    let up = start_up(dir.path())?;
    let url = format!("http://{}", config.frontends[0].http);
    let key = config.cluster.admin_key.clone();
    let client = client(url.clone(), &config)?;
    let status = Arc::new(Status::new(&url, &key)?);
    setup(&client).await?;
    load(&client, args.bookings, args.clients).await?;
    let settled = status.quiet().await?;
    let r2 = rm(&settled, 2).context("rm 2")?;
    println!(
        "  settled: applied through {}, stable checkpoint {}",
        r2["appliedThrough"], r2["stableCheckpoint"]["seq"]
    );
    let old = r2["pid"].as_u64().context("rm 2's pid")? as u32;

    let background = Background::start(&client, args.background);
    let baseline_from = Instant::now();
    tokio::time::sleep(BASELINE).await;
    let baseline_to = Instant::now();
    let killed_at = SystemTime::now();
    let t0 = Instant::now();
    ensure!(
        signal(old, libc::SIGKILL),
        "rm 2 (pid {old}) is gone already"
    );

    let (took, sent, _, timeline) = watch(&status, 2, t0, |s| {
        rm(s, 2)
            .is_some_and(|r| r["pid"].as_u64() != Some(u64::from(old)) && r["health"] == "serving")
            && caught_up(s, 2)
    })
    .await?;
    let t1 = Instant::now();
    let samples = background.finish().await?;
    println!(
        "  RESULT kill: SIGKILL of rm 2 → new rm 2 serving, caught up: {:.1} ms \
         (poll sent at {:.1} ms)",
        ms(took),
        ms(sent)
    );
    timeline.print();
    println!(
        "  background before: {}",
        window(&samples, baseline_from, baseline_to)
    );
    println!("  background during: {}", window(&samples, t0, t1));
    status.quiet().await.context("after the restart")?;
    drop(up);

    // What the nodes logged about the recovery, relative to the kill.
    let log = std::fs::read_to_string(dir.path().join("up.log"))?;
    let kill = seconds_of_day(killed_at);
    println!("  log after the kill (RUST_LOG=info):");
    for line in log.lines() {
        let Some(t) = log_time(line) else { continue };
        let offset = (t - kill + 43_200.0).rem_euclid(86_400.0) - 43_200.0;
        let interesting = [
            "node process",
            "replica manager up",
            "joining",
            "state sent",
            "state transfer",
            "replica serving again",
            "replacing",
        ]
        .iter()
        .any(|w| line.contains(w));
        if interesting && offset >= -0.001 && offset <= ms(took) / 1e3 + 1.0 {
            let text = line.split_once(' ').map_or(line, |(_, rest)| rest.trim());
            println!("    +{:>8.1} ms  {text}", offset * 1e3);
        }
    }
    Ok(())
}
