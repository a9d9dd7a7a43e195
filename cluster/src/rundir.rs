//! The run directory of a supervised cluster (`dmtbs up --run-dir`): where the supervisor leaves
//! the cluster file its nodes run with and where every node process leaves its pid, so that tools
//! and tests can find them.
//!
//! ```text
//! <run-dir>/cluster.toml    the effective cluster file (generated keys), or a symlink to the given one
//! <run-dir>/up.pid          the supervisor (`dmtbs up`)
//! <run-dir>/sequencer.pid   one per node, written by the node itself once it is ready
//! <run-dir>/rm-<id>.pid     (bound, module loaded); replaced when the supervisor restarts it,
//! <run-dir>/fe-<id>.pid     removed when the node stops cleanly
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};

use dmtbs_proto::NodeId;

/// The cluster file inside a run directory.
pub const CONFIG_FILE: &str = "cluster.toml";
/// The supervisor's pid file inside a run directory.
pub const SUPERVISOR_PID_FILE: &str = "up.pid";

/// A node's short name, as in its pid file and in logs: `sequencer`, `standby`, `rm-2`, `fe-1`.
pub fn node_name(node: NodeId) -> String {
    match node {
        NodeId::Sequencer => "sequencer".into(),
        NodeId::Standby => "standby".into(),
        NodeId::Rm(id) => format!("rm-{id}"),
        NodeId::FrontEnd(id) => format!("fe-{id}"),
    }
}

/// Where `node` leaves its pid in run directory `dir`.
pub fn pid_file(dir: &Path, node: NodeId) -> PathBuf {
    dir.join(format!("{}.pid", node_name(node)))
}

/// Writes `pid` to `path` atomically (a reader sees the old content or the new, never half), so
/// a poller can take "the file names a new pid" to mean "the node is ready".
pub fn write_pid_file(path: &Path, pid: u32) -> std::io::Result<()> {
    let tmp = path.with_extension("pid.tmp");
    let mut file = std::fs::File::create(&tmp)?;
    writeln!(file, "{pid}")?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The pid in a pid file; `None` when it is missing or unreadable.
pub fn read_pid_file(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Removes `path` if it still names `pid` (a restarted successor may have replaced it).
pub fn remove_pid_file_of(path: &Path, pid: u32) {
    if read_pid_file(path) == Some(pid) {
        let _ = std::fs::remove_file(path);
    }
}
