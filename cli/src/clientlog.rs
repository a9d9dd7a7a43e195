//! The client log: every booking command a user runs, with the answer it got, as one JSON line
//! appended to that user's own file, `<log dir>/<USER>.jsonl` — the course's per-client log.
//!
//! The log is a record for the user, not part of the booking: failing to write it prints a
//! warning and never changes the command's outcome or exit code.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value};

/// Where the client logs go.
#[derive(clap::Args, Clone, Debug)]
pub struct LogArgs {
    /// The folder of the per-user client logs (`<USER>.jsonl`); default
    /// `$XDG_DATA_HOME/dmtbs/log`, else `~/.local/share/dmtbs/log`.
    #[arg(long, env = "DMTBS_LOG_DIR", value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
}

impl LogArgs {
    /// The folder to write to, or `None` when no home folder is known.
    fn dir(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.log_dir {
            return Some(dir.clone());
        }
        let data = std::env::var_os("XDG_DATA_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
        Some(data.join("dmtbs").join("log"))
    }

    /// Appends `entry` (the command's JSON answer) to `user`'s log, stamped with the time and
    /// the front end's URL. `user` must be a canonical user ID (it names the file); anything
    /// else goes to `unknown-user.jsonl`, so a typed value can never name a path. Failures are
    /// warnings on stderr.
    pub fn append(&self, user: Option<&str>, url: &str, entry: &Value) {
        let Some(dir) = self.dir() else {
            eprintln!("warning: no client log written: set --log-dir, DMTBS_LOG_DIR or HOME");
            return;
        };
        let file = dir.join(format!("{}.jsonl", user.unwrap_or("unknown-user")));
        let mut line = Map::new();
        line.insert(
            "time".into(),
            Utc::now()
                .to_rfc3339_opts(SecondsFormat::Millis, true)
                .into(),
        );
        line.insert("url".into(), url.into());
        if let Value::Object(fields) = entry {
            line.extend(fields.clone());
        }
        if let Err(e) = write_line(&dir, &file, &Value::Object(line)) {
            eprintln!(
                "warning: could not write the client log {}: {e}",
                file.display()
            );
        }
    }
}

fn write_line(dir: &Path, file: &Path, line: &Value) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let mut text = line.to_string();
    text.push('\n');
    // One write of the whole line to a file opened for appending: concurrent commands of the
    // same user interleave whole lines.
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?
        .write_all(text.as_bytes())
}
