//! Scenario 3: the sequencer killed under load, then the whole cluster (a power cut), with the
//! benchmark's state on disk.

use super::*;

/// Sends reads (sequenced like any request) until one is answered; the time it took.
async fn answered_again(client: &Client, limit: Duration) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    loop {
        if client
            .execute(&build::availability("ATWA0001", MOVIES[0]))
            .await
            .is_ok()
        {
            return Ok(t0.elapsed());
        }
        ensure!(t0.elapsed() < limit, "no answer within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Every movie's availability (the remaining seats of every show), as one value to compare.
async fn all_availability(client: &Client) -> anyhow::Result<Vec<Value>> {
    let mut all = Vec::new();
    for movie in MOVIES {
        let answer = client
            .execute(&build::availability("ATWA0001", movie))
            .await
            .map_err(|e| anyhow::anyhow!("availability of {movie}: {e}"))?;
        all.push(serde_json::to_value(format!("{:?}", answer.value))?);
    }
    Ok(all)
}

pub(crate) async fn restart_scenario(args: &Args) -> anyhow::Result<()> {
    println!(
        "\n## Sequencer failover, then whole-cluster restart (dmtbs up, one process per node)"
    );
    let (dir, config) = cluster_dir(args)?;
    let run_dir = dir.path().join("run");
    let up = start_up(dir.path())?;
    let url = format!("http://{}", config.frontends[0].http);
    let key = config.cluster.admin_key.clone();
    let client = client(url.clone(), &config)?;
    let status = Arc::new(Status::new(&url, &key)?);
    setup(&client).await?;
    load(&client, args.bookings, args.clients).await?;
    let settled = status.quiet().await?;
    println!(
        "  settled: applied through {}",
        rm(&settled, 1).map_or(Value::Null, |r| r["appliedThrough"].clone())
    );

    // The sequencer, under the background load.
    let background = Background::start(&client, args.background);
    tokio::time::sleep(BASELINE).await;
    let sequencer = dmtbs_cluster::rundir::read_pid_file(&dmtbs_cluster::rundir::pid_file(
        &run_dir,
        dmtbs_proto::NodeId::Sequencer,
    ))
    .context("the sequencer's pid file")?;
    let t0 = Instant::now();
    ensure!(
        signal(sequencer, libc::SIGKILL),
        "the sequencer is gone already"
    );
    let pause = answered_again(&client, RECOVERY_LIMIT).await?;
    let t1 = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let samples = background.finish().await?;
    println!(
        "  RESULT sequencer failover: SIGKILL of the sequencer → a request answered again: {:.1} ms",
        ms(pause)
    );
    println!(
        "  background during: {}",
        window(&samples, t0, t1 + Duration::from_secs(1))
    );
    status.quiet().await.context("after the failover")?;

    // A power cut, and `dmtbs up` again on the same data.
    let before = all_availability(&client).await?;
    let size: u64 = walkdir(&dir.path().join("data"));
    up.power_cut(&config, &run_dir);
    println!("  power cut; data on disk: {:.1} MB", size as f64 / 1e6);
    let t0 = Instant::now();
    let up = start_up(dir.path())?;
    let ready = t0.elapsed();
    let first = answered_again(&client, RECOVERY_LIMIT).await? + ready;
    println!(
        "  RESULT whole-cluster restart: dmtbs up → cluster up {:.1} ms, first request answered {:.1} ms",
        ms(ready),
        ms(first)
    );
    let after = all_availability(&client).await?;
    ensure!(
        before == after,
        "the shows' remaining seats differ after the restart"
    );
    println!("  every show's remaining seats are what they were before the cut");
    drop(up);
    Ok(())
}

/// Bytes of the files under `dir`.
fn walkdir(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walkdir(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
