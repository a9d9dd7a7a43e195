//! Runs `dmtbs up` as a child process on a test cluster file, waits until it says the cluster is
//! up, and stops it by its pid. Its log (its own and its nodes') goes to `up.log` in the test's
//! temporary folder and is printed when something goes wrong.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::local::test_config_text;
use dmtbs_cluster::{ClusterConfig, rundir};
use dmtbs_proto::NodeId;
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};
use serde_json::Value;

/// The day every test cluster lives on.
pub const TODAY: &str = "2026-11-24";
/// How long a cluster of six processes may take to come up on a busy two-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// The `dmtbs` binary: `DMTBS_BIN`, or the one cargo built next to this test executable.
pub fn dmtbs_bin() -> PathBuf {
    let bin = match std::env::var_os("DMTBS_BIN") {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe()
            .expect("test executable path")
            // target/<profile>/deps/processes-<hash> → target/<profile>/dmtbs
            .parent()
            .and_then(Path::parent)
            .expect("test executable lives in target/<profile>/deps")
            .join("dmtbs"),
    };
    assert!(
        bin.exists(),
        "the dmtbs binary is missing at {}: run `cargo build -p dmtbs-cli` first (or set DMTBS_BIN)",
        bin.display()
    );
    // A binary left from before `up` supervised processes would fail in puzzling ways.
    let help = Command::new(&bin)
        .args(["up", "--help"])
        .output()
        .expect("run dmtbs up --help");
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("--run-dir"),
        "{} is stale (its `up` has no --run-dir): run `cargo build -p dmtbs-cli`",
        bin.display()
    );
    bin
}

/// A running `dmtbs up`.
pub struct Up {
    child: Option<Child>,
    /// Keeps the cluster file, the run directory and the log until the test ends.
    dir: tempfile::TempDir,
    pub run_dir: PathBuf,
    pub config: ClusterConfig,
    pub http: reqwest::Client,
}

impl Up {
    /// A test cluster file (four RMs running `modules`) written into a fresh folder.
    pub fn config_file(modules: [&str; 4], transport: TransportMode) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temporary folder");
        let text = test_config_text(&components::dir(), modules, transport, TODAY)
            .expect("test configuration");
        // Owner-only, as a cluster file holding keys must be (a node warns otherwise).
        dmtbs_frontend::auth::write_private(&dir.path().join("cluster.toml"), text.as_bytes())
            .expect("write cluster file");
        dir
    }

    /// Starts `dmtbs up` on a test cluster of the four implementations and waits for its banner.
    pub fn start(transport: TransportMode) -> Up {
        Self::start_in(Self::config_file(IMPLEMENTATIONS, transport))
    }

    /// Starts `dmtbs up` on the cluster file already written to `<dir>/cluster.toml` and waits
    /// for its banner.
    pub fn start_in(dir: tempfile::TempDir) -> Up {
        Self::start_in_with(dir, &[])
    }

    /// [`Up::start_in`] with more flags for `dmtbs up`.
    pub fn start_in_with(dir: tempfile::TempDir, flags: &[&str]) -> Up {
        let mut up = Self::spawn_with(dir, flags);
        up.wait_ready();
        up
    }

    /// Starts `dmtbs up --config <dir>/cluster.toml --run-dir <dir>/run` without waiting.
    pub fn spawn(dir: tempfile::TempDir) -> Up {
        Self::spawn_with(dir, &[])
    }

    /// [`Up::spawn`] with more flags for `dmtbs up`.
    pub fn spawn_with(dir: tempfile::TempDir, flags: &[&str]) -> Up {
        let config_path = dir.path().join("cluster.toml");
        let config = ClusterConfig::load(&config_path).expect("cluster file");
        let run_dir = dir.path().join("run");
        let log = std::fs::File::create(dir.path().join("up.log")).expect("log file");
        let child = Command::new(dmtbs_bin())
            .arg("up")
            .arg("--config")
            .arg(&config_path)
            .arg("--run-dir")
            .arg(&run_dir)
            .args(flags)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start dmtbs up");
        Up {
            child: Some(child),
            dir,
            run_dir,
            config,
            http: reqwest::Client::builder()
                // Under the front end's 10 s idle close of keep-alive connections: a connection
                // reused as the front end closes it fails the request unsent (seen in CI after a
                // test's 10 s pause).
                .pool_idle_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(20))
                .build()
                .expect("http client"),
        }
    }

    /// Waits (bounded) for the banner line that says the cluster is up.
    fn wait_ready(&mut self) {
        let stdout = self
            .child
            .as_mut()
            .and_then(|c| c.stdout.take())
            .expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        // Reads the banner, then keeps draining so `up` never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line.contains("cluster is up") => return,
                Ok(_) => {}
                Err(e) => panic!(
                    "dmtbs up did not report the cluster up ({e}); exit: {:?}\n{}",
                    self.child.as_mut().map(|c| c.try_wait()),
                    self.log()
                ),
            }
        }
    }

    /// The supervisor's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The pid a node's pid file names now.
    pub fn node_pid(&self, node: NodeId) -> Option<u32> {
        rundir::read_pid_file(&rundir::pid_file(&self.run_dir, node))
    }

    /// Every node's pid, in configuration order (RMs, sequencer, front ends).
    pub fn node_pids(&self) -> Vec<(NodeId, u32)> {
        self.nodes()
            .into_iter()
            .map(|n| {
                let pid = self
                    .node_pid(n)
                    .unwrap_or_else(|| panic!("no pid file for {n:?}\n{}", self.log()));
                (n, pid)
            })
            .collect()
    }

    pub fn nodes(&self) -> Vec<NodeId> {
        let c = &self.config;
        c.rms
            .iter()
            .map(|r| NodeId::Rm(r.id))
            .chain([NodeId::Sequencer])
            .chain(c.frontends.iter().map(|f| NodeId::FrontEnd(f.id)))
            .collect()
    }

    /// Waits (bounded) until `node`'s pid file names a live process other than `old`.
    pub async fn wait_new_pid(&self, node: NodeId, old: u32, timeout: Duration) -> u32 {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(pid) = self.node_pid(node)
                && pid != old
                && alive(pid)
            {
                return pid;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{node:?} was not restarted within {timeout:?}\n{}",
            self.log()
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.config.frontends[0].http)
    }

    pub fn admin_key(&self) -> &str {
        &self.config.cluster.admin_key
    }

    /// `user`'s token, made with the cluster's token key (none for a malformed ID).
    pub fn token(&self, user: &str) -> Option<String> {
        self.config.mint_tokens()(user)
    }

    /// Sends a request as `user` (with `user`'s token, made with the cluster's token key) and
    /// returns the status, the `X-DMTBS-Agreed` header and the body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        user: &str,
        body: Option<Value>,
    ) -> (u16, Option<String>, Value) {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("X-DMTBS-User", user);
        if let Some(token) = self.token(user) {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}\n{}", self.log()));
        let status = response.status().as_u16();
        let agreed = response
            .headers()
            .get("x-dmtbs-agreed")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, agreed, response.json().await.unwrap_or(Value::Null))
    }

    /// What `up` and its nodes logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("up.log")).unwrap_or_default()
    }

    /// Sends `sig` to `up` and waits (bounded) for it to exit.
    pub fn signal_and_wait(&mut self, sig: libc::c_int, timeout: Duration) -> ExitStatus {
        signal(self.pid(), sig);
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().expect("wait for dmtbs up") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("dmtbs up did not exit within {timeout:?}\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// After `up` and its nodes were killed: reaps `up` and hands back the folder (cluster file,
    /// data, log) for another `dmtbs up` on the same data.
    pub fn forget_killed(mut self) -> tempfile::TempDir {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        std::mem::replace(
            &mut self.dir,
            tempfile::tempdir().expect("temporary folder"),
        )
    }

    /// Waits (bounded) for `up` to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        self.signal_and_wait(0, timeout)
    }
}

impl Drop for Up {
    /// A test that fails half-way still stops its cluster: SIGTERM, then SIGKILL. A data folder
    /// the test configuration made in the temporary folder goes too.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(child.id(), libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline && !matches!(child.try_wait(), Ok(Some(_))) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        dmtbs_cluster::local::remove_test_data(&self.config);
    }
}

/// Sends `sig` to `pid` (signal 0: only checks it exists).
pub fn signal(pid: u32, sig: libc::c_int) -> bool {
    let pid = libc::pid_t::try_from(pid).expect("pid fits");
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid, sig) == 0 }
}

/// Is there a process `pid`?
pub fn alive(pid: u32) -> bool {
    signal(pid, 0)
}

/// The parent of process `pid`, from /proc.
pub fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid …": comm may hold spaces, so read after the last ')'.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// What a test's clients observed — every operation with its call and answer instants on one
/// monotonic clock of the test process, and its outcome (none: no answer, a 5xx, a timeout) —
/// and the linearizability check over it (`dmtbs-checker`).
pub mod record {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use dmtbs_checker::{Completion, History, Op, Report, check};
    use dmtbs_client::{Client, RetryPolicy, outcome_of};
    use dmtbs_contract::{
        Availability, Book, Booked, Date, Operation, Outcome, ScheduledBooking, ShowRemaining,
        Success,
    };
    use serde_json::Value;

    use super::{TODAY, Up};

    /// The history of one test, however many clusters (restarts) it spans.
    pub struct Recorder {
        /// The clock's zero: every instant is an offset from it.
        origin: Instant,
        history: Mutex<History>,
    }

    impl Default for Recorder {
        fn default() -> Self {
            Recorder {
                origin: Instant::now(),
                history: Mutex::new(History::new()),
            }
        }
    }

    impl Recorder {
        /// Now, on the history's clock: take it just before sending.
        pub fn now(&self) -> Duration {
            self.origin.elapsed()
        }

        /// Records an operation sent at `invoke` and answered `outcome` now, or never answered
        /// (`None`: it may or may not have taken effect).
        pub fn record(
            &self,
            client: u32,
            operation: Operation,
            invoke: Duration,
            outcome: Option<Outcome>,
        ) {
            let completion = match outcome {
                Some(outcome) => Completion::Returned {
                    at: self.now(),
                    outcome,
                },
                None => Completion::Unknown,
            };
            // A client task that panicked while holding the lock fails its test anyway.
            let mut history = self.history.lock().expect("history lock");
            history.push(Op {
                client,
                today: today(),
                operation,
                invoke,
                completion,
            });
        }

        /// Checks that everything recorded is linearizable; on failure, panics with the
        /// checker's explanation (and the seed).
        pub fn assert_linearizable(&self, seed: u64) -> Report {
            let history = self.history.lock().expect("history lock").clone();
            let unanswered = history.ops.iter().filter(|o| o.outcome().is_none()).count();
            let report = check(&history);
            println!(
                "history of {} operations ({unanswered} unanswered): {report}",
                history.len()
            );
            assert!(report.is_linearizable(), "seed {seed}: {report}");
            report
        }

        /// The end of a test's history: one more client reads the seats left on every show of
        /// `movie` (taken by acknowledged bookings, and by those of unknown fate that
        /// happened), then [`Recorder::assert_linearizable`].
        pub async fn read_and_check(&self, up: &Up, movie: &str, seed: u64) -> Report {
            let read = Operation::Availability(Availability {
                actor: "ATWC0001".into(),
                movie: movie.into(),
            });
            let outcome = execute(up, self, 0, read).await;
            assert!(
                matches!(outcome, Some(Ok(_))),
                "seed {seed}: the last read was not answered: {outcome:?}"
            );
            self.assert_linearizable(seed)
        }
    }

    /// A customer's booking for itself.
    pub fn book(customer: &str, movie: &str, show: &str, tickets: u32) -> Operation {
        Operation::Book(Book {
            actor: customer.into(),
            customer: customer.into(),
            movie: movie.into(),
            show_id: show.into(),
            tickets,
        })
    }

    /// [`TODAY`] as the contract's date.
    pub fn today() -> Date {
        let mut parts = TODAY
            .split('-')
            .map(|p| p.parse::<u16>().expect("a number in TODAY"));
        let mut next = || parts.next().expect("TODAY is YYYY-MM-DD");
        let (year, month, day) = (next(), next(), next());
        Date {
            year,
            month: u8::try_from(month).expect("a month"),
            day: u8::try_from(day).expect("a day"),
        }
    }

    /// Sends `operation` as client `client` through the typed client (its retries included: one
    /// operation from the first try to the last answer) and records it; its outcome if answered.
    pub async fn execute(
        up: &Up,
        recorder: &Recorder,
        client: u32,
        operation: Operation,
    ) -> Option<Outcome> {
        let http = Client::builder(up.url(""))
            .admin_key(up.admin_key())
            .tokens(up.config.mint_tokens())
            .retry(RetryPolicy::DEFAULT)
            .build()
            .expect("a client for the test cluster");
        let invoke = recorder.now();
        let result = http.execute(&operation).await;
        let outcome = outcome_of(&result).map(|(_, outcome)| outcome);
        recorder.record(client, operation, invoke, outcome.clone());
        outcome
    }

    /// The success value in an answer's JSON body (`{"outcome": …}`), for the kinds the process
    /// tests send by hand: show-added, show-updated, booked, availability, schedule.
    pub fn success(body: &Value) -> Option<Success> {
        let count = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
        Some(match body["outcome"].as_str()? {
            "show-added" => Success::ShowAdded,
            "show-updated" => Success::ShowUpdated(count(&body["oldCapacity"])?),
            "booked" => Success::Booked(Booked {
                held: count(&body["held"])?,
                remaining: count(&body["remaining"])?,
            }),
            "availability" => Success::Availability(
                body["shows"]
                    .as_array()?
                    .iter()
                    .map(|s| {
                        Some(ShowRemaining {
                            show_id: s["showId"].as_str()?.to_owned(),
                            remaining: count(&s["remaining"])?,
                        })
                    })
                    .collect::<Option<_>>()?,
            ),
            "schedule" => Success::Schedule(
                body["bookings"]
                    .as_array()?
                    .iter()
                    .map(|b| {
                        Some(ScheduledBooking {
                            movie: b["movie"].as_str()?.to_owned(),
                            show_id: b["showId"].as_str()?.to_owned(),
                            tickets: count(&b["tickets"])?,
                        })
                    })
                    .collect::<Option<_>>()?,
            ),
            _ => return None,
        })
    }
}
