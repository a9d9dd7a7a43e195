//! The docs' walk-throughs, run as written.
//!
//! docs/writing-a-replica.md: every command of its `sh` blocks, in order, in a
//! fresh folder laid out like the repository's root (its `wit/`, the template, replica E, and a
//! copy of the built components), each command's exit status checked — 0, or the `# exits N`
//! its line ends with. Then what a reader should see is asserted: the module serves on RM 2
//! after its canary and after RM 2's process was killed, the wrong module is the only one
//! quarantined, RM 3 still runs its own.
//!
//! Two lines run differently from a reader's terminal, as the guide says they are run: `dmtbs
//! up` starts in the background (the guide's "second terminal") and the test waits for its
//! banner; `dmtbs bench` too (the "third terminal"). The cluster gets a free port block through
//! `DMTBS_PORT_BASE` and the commands reach it through `DMTBS_URL`, so the guide's
//! `http://127.0.0.1:8080` is replaced by that URL: nothing else in a line is changed.
//!
//! README.md, "Watch a faulty replica get replaced": its block run as one bash script (it keeps
//! a variable between lines) beside a running `dmtbs up`, and what its comments promise — RM 2
//! back on replica-b with 2 swaps, the quarantine's reason naming request 4 — asserted.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::dmtbs_bin;

/// The guide's commands, in order: each `sh` block's non-empty, non-comment lines.
fn commands(guide: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_sh = false;
    for line in guide.lines() {
        let fence = line.trim_start();
        if let Some(info) = fence.strip_prefix("```") {
            in_sh = !in_sh && info.trim() == "sh";
            continue;
        }
        let line = line.trim();
        if in_sh && !line.is_empty() && !line.starts_with('#') {
            commands.push(line.to_owned());
        }
    }
    commands
}

/// The exit status a line expects: `# exits N` at its end, else 0.
fn expected_exit(line: &str) -> i32 {
    line.rsplit_once("# exits ")
        .and_then(|(_, n)| n.trim().parse().ok())
        .unwrap_or(0)
}

/// A block of 100 ports (the base's node ports and base + 80 for HTTP) nothing holds now.
fn free_port_base() -> u16 {
    let offsets = [0u16, 1, 2, 11, 21, 22, 23, 24, 31, 32, 33, 34, 80];
    let start = 200 + (std::process::id() % 90) as u16;
    (0..90)
        .map(|i| (start + i) % 90 + 200) // bases 20000–28900, below the ephemeral range
        .map(|hundreds| hundreds * 100)
        .find(|&base| {
            offsets.iter().all(|o| {
                let addr = ("127.0.0.1", base + o);
                std::net::TcpListener::bind(addr).is_ok() && std::net::UdpSocket::bind(addr).is_ok()
            })
        })
        .expect("a free block of 100 ports between 20000 and 29000")
}

/// The folder the guide runs in: the repository's `wit/`, template and replica E (links), and a
/// copy of the built components, so what the guide adds lands here and not in the repository.
fn workdir(repo: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    let link = |from: &str| {
        let to = dir.path().join(from);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(repo.join(from), &to).expect("link");
    };
    link("wit");
    link("replicas-wasm/template");
    link("replicas-wasm/replica-e");
    let components = dir.path().join("replicas-wasm/target/components");
    std::fs::create_dir_all(&components).unwrap();
    for entry in std::fs::read_dir(dmtbs_testkit::components::dir()).expect("built components") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wasm") {
            std::fs::copy(&path, components.join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

/// The `dmtbs` commands' environment: the binary first on PATH, the cluster's port block.
fn command(line: &str, dir: &Path, base: u16) -> Command {
    let bin = dmtbs_bin();
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new("bash");
    c.arg("-c")
        .arg(line)
        .current_dir(dir)
        .env("PATH", path)
        .env("DMTBS_PORT_BASE", base.to_string())
        .env("DMTBS_URL", format!("http://127.0.0.1:{}", base + 80))
        .env("NO_COLOR", "1")
        .env_remove("DMTBS_ADMIN_KEY")
        .env_remove("DMTBS_TOKEN");
    c
}

/// Processes started in the background, stopped (by pid, the whole group) when the test ends.
struct Background(Vec<Child>);

impl Drop for Background {
    fn drop(&mut self) {
        for child in &mut self.0 {
            // The bash child leads its own process group (setpgid below): stop the group.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
        }
    }
}

fn spawn(mut c: Command, log: &Path) -> Child {
    use std::os::unix::process::CommandExt as _;
    c.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("start a background command")
}

/// Waits (bounded) for `dmtbs up`'s banner, then keeps draining its output.
fn wait_for_banner(up: &mut Child, log: &Path) {
    let stdout = up.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains("cluster is up") => return,
            Ok(_) => {}
            Err(e) => panic!(
                "dmtbs up did not report the cluster up ({e})\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            ),
        }
    }
}

/// `dmtbs status --json`, parsed.
fn status(dir: &Path, base: u16) -> Value {
    let out = command("dmtbs status --json", dir, base)
        .output()
        .expect("dmtbs status runs");
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn replica(status: &Value, rm: u8) -> Value {
    status["replicas"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["rm"] == rm)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn the_module_authors_guide_runs_as_written() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let guide = std::fs::read_to_string(repo.join("docs/writing-a-replica.md")).expect("guide");
    let commands = commands(&guide);
    assert!(
        commands.iter().any(|c| c == "dmtbs up")
            && commands.iter().any(|c| c.starts_with("dmtbs swap --rm 2")),
        "the guide lost its steps: {commands:#?}"
    );
    let dir = workdir(&repo);
    let base = free_port_base();
    let url = format!("http://127.0.0.1:{}", base + 80);
    let mut background = Background(Vec::new());
    let mut transcript = String::new();
    for (i, line) in commands.iter().enumerate() {
        let line = line.replace("http://127.0.0.1:8080", &url);
        if line == "dmtbs up" || line.starts_with("dmtbs bench ") {
            let log = dir.path().join(format!("background-{i}.log"));
            let mut child = spawn(command(&line, dir.path(), base), &log);
            if line == "dmtbs up" {
                wait_for_banner(&mut child, &log);
            }
            transcript += &format!("$ {line} (in the background, log {})\n", log.display());
            background.0.push(child);
            continue;
        }
        let started = Instant::now();
        let out = command(&line, dir.path(), base)
            .output()
            .expect("bash runs");
        transcript += &format!(
            "$ {line}\n{}{}(exit {:?}, {:.1} s)\n",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            out.status.code(),
            started.elapsed().as_secs_f64()
        );
        assert_eq!(
            out.status.code(),
            Some(expected_exit(&line)),
            "the guide's command `{line}` did not end as the guide says\n{transcript}"
        );
    }
    println!("{transcript}");

    // The guide's other build path, where `cargo-component` is installed (it is not on CI's
    // machine; the test says so rather than pass in silence): the same crate built by
    // `cargo component build --release` (wasm32-wasip1, adapted to a component) passes too.
    let installed = Command::new("cargo")
        .args(["component", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if installed {
        let crate_dir = dir.path().join("my-replica");
        let build = Command::new("cargo")
            .args(["component", "build", "--release"])
            .current_dir(&crate_dir)
            .output()
            .expect("cargo component runs");
        assert!(
            build.status.success(),
            "cargo component build: {}",
            String::from_utf8_lossy(&build.stderr)
        );
        let check = command(
            "dmtbs module check my-replica/target/wasm32-wasip1/release/replica_e.wasm",
            dir.path(),
            base,
        )
        .output()
        .expect("dmtbs runs");
        assert!(
            check.status.success(),
            "the cargo-component build fails the check: {}",
            String::from_utf8_lossy(&check.stdout)
        );
        println!("cargo component build: passes the check too");
    } else {
        println!("cargo-component is not installed: its build path was not tried");
    }

    // What the reader should see now. RM 2's process was killed: wait (bounded) until a new
    // process serves.
    let killed: u64 = transcript
        .split_once("Killed RM 2 (pid ")
        .and_then(|(_, rest)| rest.split(',').next()?.parse().ok())
        .unwrap_or_else(|| panic!("the guide kills RM 2 and says its pid\n{transcript}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let s = status(dir.path(), base);
        let rm2 = replica(&s, 2);
        let restarted = rm2["pid"].as_u64().is_some_and(|pid| pid != killed);
        if (restarted && rm2["health"] == "serving") || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let rm2 = replica(&status, 2);
    assert_ne!(rm2["pid"], killed, "RM 2 was restarted: {status:#}");
    assert_eq!(rm2["health"], "serving", "{status:#}");
    assert_eq!(
        rm2["module"], "my-replica",
        "the swap outlasts the restart: {status:#}\n{transcript}"
    );
    assert_eq!(replica(&status, 3)["module"], "replica-c", "{status:#}");
    let quarantined: Vec<&Value> = status["replicas"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["quarantine"].as_array().into_iter().flatten())
        .collect();
    assert!(
        !quarantined.is_empty() && quarantined.iter().all(|q| q["module"] == "faulty-random"),
        "only faulty-random is quarantined: {quarantined:#?}"
    );
    drop(background);
}

#[test]
fn the_guide_parser_takes_sh_lines_and_their_expected_exits() {
    let text = "x\n```sh\ncmd one\n# a comment\n\ncmd two  # exits 2\n```\n```text\nno\n```\n";
    assert_eq!(commands(text), ["cmd one", "cmd two  # exits 2"]);
    assert_eq!(expected_exit("cmd two  # exits 2"), 2);
    assert_eq!(expected_exit("cmd one"), 0);
}

/// README's "Watch a faulty replica get replaced" block, its lines as written.
fn readme_walk_through(readme: &str) -> String {
    let section = readme
        .split_once("## Watch a faulty replica get replaced")
        .expect("README has the walk-through")
        .1;
    let block = section
        .split_once("```sh\n")
        .expect("its sh block")
        .1
        .split_once("```")
        .expect("the block ends")
        .0;
    block.to_owned()
}

#[test]
fn the_readme_walk_through_runs_as_written_and_shows_what_it_says() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(repo.join("README.md")).expect("README");
    let script = readme_walk_through(&readme);
    let dir = workdir(&repo);
    let base = free_port_base();
    let log = dir.path().join("up.log");
    let mut up = spawn(command("dmtbs up", dir.path(), base), &log);
    wait_for_banner(&mut up, &log);
    let _up = Background(vec![up]);
    let out = command(&format!("set -euo pipefail\n{script}"), dir.path(), base)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\n{stderr}");
    assert!(
        out.status.success(),
        "the walk-through failed ({:?})\n{stdout}\n{stderr}",
        out.status.code()
    );
    // "RM 2: replica-b again, swaps 2" — in every `dmtbs status` table after it (each comes
    // after a `sleep 2`).
    let rm2_rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("2 ") && l.contains("serving"))
        .collect();
    assert_eq!(rm2_rows.len(), 2, "two status tables:\n{stdout}");
    for row in rm2_rows {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            (cells[1], cells.get(9)),
            ("replica-b", Some(&"2")),
            "RM 2's module and swaps: {row}"
        );
    }
    // "3 consecutive wrong results (last at request 4)" (or 5: the request RM 2 first
    // answered with faulty-random depends on when the operator's swap landed).
    assert!(
        stdout.contains("3 consecutive wrong results (last at request 4)")
            || stdout.contains("3 consecutive wrong results (last at request 5)"),
        "{stdout}"
    );
    // Every booking was answered, and right: eight single tickets on one show of 50 seats.
    let left: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("Booked 1 ticket"))
        .filter_map(|l| l.rsplit_once("; ")?.1.strip_suffix(" left."))
        .collect();
    assert_eq!(
        left,
        ["49", "48", "47", "46", "45", "44", "43", "42"],
        "{stdout}"
    );
}
