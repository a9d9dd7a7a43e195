//! `dmtbs up` as a child process, signals, and the times in its log.

use super::*;

/// The `dmtbs` binary: `DMTBS_BIN`, or the one next to this executable's folder.
pub(crate) fn dmtbs_bin() -> anyhow::Result<PathBuf> {
    let bin = match std::env::var_os("DMTBS_BIN") {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .context("this executable lives in target/<profile>/deps")?
            .join("dmtbs"),
    };
    ensure!(
        bin.exists(),
        "no dmtbs binary at {}: build it (cargo build --release -p dmtbs-cli) or set DMTBS_BIN",
        bin.display()
    );
    Ok(bin)
}

/// A test cluster file in a fresh folder, with the benchmark's checkpoint interval (and slow
/// strikes, if given); its data kept inside the folder.
pub(crate) fn cluster_dir(
    args: &Args,
) -> anyhow::Result<(tempfile::TempDir, dmtbs_cluster::ClusterConfig)> {
    let dir = tempfile::tempdir()?;
    let text = test_config_text(
        &std::fs::canonicalize(components::dir())?,
        components::IMPLEMENTATIONS,
        TransportMode::Multicast,
        TODAY,
    )?;
    let data = dir.path().join("data");
    let text: String = text
        .lines()
        .map(|line| {
            if line == "[recovery]" {
                format!(
                    "[recovery]\ncheckpoint_every = {}\n{}",
                    args.checkpoint_every,
                    args.slow_strikes
                        .map_or(String::new(), |n| format!("slow_strikes = {n}\n"))
                )
            } else if line.starts_with("data_dir = ") {
                format!("data_dir = \"{}\"\n", data.display())
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(dir.path().join("cluster.toml"), &text)?;
    let config = dmtbs_cluster::ClusterConfig::load(&dir.path().join("cluster.toml"))?;
    ensure!(config.recovery.checkpoint_every == args.checkpoint_every);
    Ok((dir, config))
}

/// `dmtbs up`, stopped (SIGTERM, then SIGKILL) when dropped.
pub(crate) struct Up {
    child: Child,
}

impl Drop for Up {
    fn drop(&mut self) {
        signal(self.child.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Up {
    /// A power cut: `up` frozen (it restarts nothing), every node of `run_dir` and then `up`
    /// killed with SIGKILL; returns once they are all gone.
    pub(crate) fn power_cut(mut self, config: &dmtbs_cluster::ClusterConfig, run_dir: &Path) {
        signal(self.child.id(), libc::SIGSTOP);
        let nodes: Vec<u32> = std::iter::once(dmtbs_proto::NodeId::Sequencer)
            .chain(
                config
                    .frontends
                    .iter()
                    .map(|f| dmtbs_proto::NodeId::FrontEnd(f.id)),
            )
            .chain(config.rms.iter().map(|r| dmtbs_proto::NodeId::Rm(r.id)))
            .filter_map(|n| {
                dmtbs_cluster::rundir::read_pid_file(&dmtbs_cluster::rundir::pid_file(run_dir, n))
            })
            .collect();
        for &pid in &nodes {
            signal(pid, libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(10);
        while nodes.iter().any(|&p| signal(p, 0)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

pub(crate) fn signal(pid: u32, sig: libc::c_int) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid, sig) == 0 }
}

/// Starts `dmtbs up` on `dir/cluster.toml` (log: `dir/up.log`, RUST_LOG=info) and waits for its
/// banner.
pub(crate) fn start_up(dir: &Path) -> anyhow::Result<Up> {
    let log = std::fs::File::create(dir.join("up.log"))?;
    let mut child = Command::new(dmtbs_bin()?)
        .arg("up")
        .arg("--config")
        .arg(dir.join("cluster.toml"))
        .arg("--run-dir")
        .arg(dir.join("run"))
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .context("starting dmtbs up")?;
    let stdout = child.stdout.take().context("stdout is piped")?;
    let up = Up { child };
    let (tx, rx) = mpsc::channel();
    // Reads the banner, then keeps draining so `up` never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains("cluster is up") => return Ok(up),
            Ok(_) => {}
            Err(e) => bail!(
                "dmtbs up did not report the cluster up ({e}); its log:\n{}",
                std::fs::read_to_string(dir.join("up.log")).unwrap_or_default()
            ),
        }
    }
}

/// Seconds since midnight UTC of a log line's RFC 3339 timestamp (`…T19:58:10.123456Z`).
pub(crate) fn log_time(line: &str) -> Option<f64> {
    let stamp = line.split_whitespace().next()?;
    let time = stamp.split_once('T')?.1.trim_end_matches('Z');
    let mut parts = time.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

pub(crate) fn seconds_of_day(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() % 86_400.0)
        .unwrap_or_default()
}
