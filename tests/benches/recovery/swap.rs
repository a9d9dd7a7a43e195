//! Scenario 1: a three-strike swap in an in-process cluster.

use super::*;

pub(crate) async fn swap_scenario(args: &Args) -> anyhow::Result<()> {
    println!("\n## three-strike swap (in-process cluster)");
    let mut config = test_config(
        &components::dir(),
        [FAULTY_LOGIC, "replica-b", "replica-c", "replica-d"],
        TransportMode::Multicast,
        TODAY,
    )?;
    config.rms[0].modules.push("replica-a".into());
    config.recovery.checkpoint_every = args.checkpoint_every;
    if let Some(n) = args.slow_strikes {
        config.recovery.slow_strikes = n;
    }
    let cluster = LocalCluster::start(config).await?;
    let key = cluster.config.cluster.admin_key.clone();
    let client = client(cluster.url(0), &cluster.config)?;
    let status = Arc::new(Status::new(&cluster.url(0), &key)?);
    setup(&client).await?;
    load(&client, args.bookings, args.clients).await?;
    let settled = status.quiet().await?;
    let r1 = rm(&settled, 1).context("rm 1")?;
    println!(
        "  settled: applied through {}, stable checkpoint {}",
        r1["appliedThrough"], r1["stableCheckpoint"]["seq"]
    );

    let background = Background::start(&client, args.background);
    let baseline_from = Instant::now();
    tokio::time::sleep(BASELINE).await;
    let baseline_to = Instant::now();
    let gate = background.gate.clone();
    let paused = gate.write().await;
    for c in WRONG_CUSTOMERS {
        match client.execute(&wrong_request(c)).await {
            Err(Error::Api(e)) if e.code == "weekly-limit" => {}
            other => bail!("{c}'s fourth other-area booking: expected weekly-limit, got {other:?}"),
        }
    }
    let t0 = Instant::now();
    drop(paused);

    let (took, sent, s, timeline) = watch(&status, 1, t0, |s| {
        rm(s, 1).is_some_and(|r| r["module"] == "replica-a" && r["health"] == "serving")
            && caught_up(s, 1)
    })
    .await?;
    let t1 = Instant::now();
    let samples = background.finish().await?;
    let r1 = rm(&s, 1).context("rm 1")?;
    ensure!(
        r1["swaps"] == 1
            && r1["lastSwapReason"]
                .as_str()
                .is_some_and(|r| r.contains("3 consecutive wrong results")),
        "unexpected swap: {r1}"
    );
    println!("  swap reason: {}", r1["lastSwapReason"]);
    println!(
        "  RESULT swap: third wrong answer → rm 1 serving replica-a, caught up: {:.1} ms \
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
    status.quiet().await.context("after the swap")?;
    cluster.stop().await?;
    Ok(())
}
