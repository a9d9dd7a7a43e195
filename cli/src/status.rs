//! The operator's commands, over the front end's `/v1/admin/` API (admin key required):
//! `status` (each replica manager's state as a table), `swap` (replace one RM's replica by a
//! named module holding the current state) and `quarantine list|clear`.
//!
//! Output as the booking commands: a table or a sentence, or with `--json` the front end's JSON
//! answer as one object; exit code 0 when the front end did it, 2 otherwise (see
//! [`crate::booking`]). Operators have no user ID, so these commands write no client log; the
//! front end and the replica managers record what they did.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::booking::{EXIT_ERROR, Remote, error_chain, table};

/// Hex digits shown of a module hash or a state digest.
const SHORT_HEX: usize = 12;
/// How often `swap` asks whether the swap is done.
const SWAP_POLL: Duration = Duration::from_millis(200);

/// The operator's commands.
#[derive(clap::Subcommand, Clone, Debug)]
pub enum Command {
    /// Operator: each replica manager's module, health, progress, strikes, swaps and stable
    /// checkpoint.
    Status {
        #[command(flatten)]
        remote: Remote,
    },
    /// Operator: replace a replica manager's replica by a fresh instance of a module with the
    /// current state (a rolling upgrade).
    Swap {
        /// The replica manager (1–4).
        #[arg(long)]
        rm: u8,
        /// The module: a component's file stem (e.g. replica-b).
        #[arg(long)]
        module: String,
        /// Seconds to wait for the replica manager to run the module (after its canary, then
        /// obtaining a correct state); 0: return once the swap has started.
        #[arg(long, default_value_t = 60, value_name = "SECONDS")]
        wait: u64,
        /// Swap even if another replica manager runs the same module: two RMs on one
        /// implementation lose the protection of independent versions (refused without it).
        #[arg(long)]
        force: bool,
        /// Swap at once, without first running the module in shadow (for emergencies: the
        /// current module is itself wrong, or there is no traffic to compare).
        #[arg(long)]
        no_canary: bool,
        /// The canary: requests the module must agree on in shadow before it is promoted.
        #[arg(long, default_value_t = 500, value_name = "N", conflicts_with = "no_canary",
              value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        canary_requests: u32,
        /// The canary: at most this long; then judged on what it saw (nothing seen: refused).
        #[arg(long, default_value_t = 30, value_name = "SECONDS", conflicts_with = "no_canary",
              value_parser = clap::value_parser!(u32).range(1..=3_600))]
        canary_seconds: u32,
        #[command(flatten)]
        remote: Remote,
    },
    /// Operator: the modules quarantined cluster-wide as faulty, or clear them.
    Quarantine {
        #[command(subcommand)]
        action: Quarantine,
    },
}

/// `dmtbs quarantine …`.
#[derive(clap::Subcommand, Clone, Debug)]
pub enum Quarantine {
    /// The quarantined modules.
    List {
        #[command(flatten)]
        remote: Remote,
    },
    /// Allow a quarantined module (name or hash) to be loaded again; every one without MODULE.
    Clear {
        /// The module's name (e.g. faulty-logic) or hash.
        module: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
}

/// Why an operator request has no answer.
enum Failure {
    /// The front end answered in the API's error shape.
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// No answer, or not the API's.
    Other { code: &'static str, message: String },
}

/// Runs one operator command: send, print, exit code.
pub fn main(command: Command) -> ExitCode {
    let (remote, method, path, body) = match &command {
        Command::Status { remote } => (remote, Method::GET, vec!["replicas".to_owned()], None),
        Command::Swap {
            rm,
            module,
            force,
            no_canary,
            canary_requests,
            canary_seconds,
            remote,
            ..
        } => (
            remote,
            Method::POST,
            vec!["replicas".into(), rm.to_string(), "swap".into()],
            Some(if *no_canary {
                json!({ "module": module, "force": force })
            } else {
                json!({ "module": module, "force": force,
                        "canary": { "requests": canary_requests, "seconds": canary_seconds } })
            }),
        ),
        Command::Quarantine {
            action: Quarantine::List { remote },
        } => (remote, Method::GET, vec!["quarantine".into()], None),
        Command::Quarantine {
            action: Quarantine::Clear { module, remote },
        } => {
            let mut path = vec!["quarantine".to_owned()];
            path.extend(module.clone());
            (remote, Method::DELETE, path, None)
        }
    };
    let mut remote = remote.clone();
    if let Err(e) = remote.resolve_admin_key() {
        eprintln!("error: {e:#}");
        return ExitCode::from(EXIT_ERROR);
    }
    let remote = &remote;
    let result = call(remote, method, &path, body).and_then(|answer| match &command {
        Command::Swap {
            rm, module, wait, ..
        } if *wait > 0 => wait_for_swap(remote, *rm, module, &answer, Duration::from_secs(*wait)),
        _ => Ok(answer),
    });
    match result {
        Ok(mut answer) => {
            if remote.json {
                // The one envelope of every `--json`: `status` first-class beside the answer.
                if let Some(object) = answer.as_object_mut() {
                    object.entry("status").or_insert_with(|| "ok".into());
                }
                println!("{answer}");
            } else {
                print!("{}", describe(&command, &answer));
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            let (code, message, text) = match failure {
                Failure::Api {
                    status,
                    code,
                    message,
                } => {
                    let hint = if status == 401 && remote.admin_key.is_none() {
                        "; the request needs the admin key: $DMTBS_ADMIN_KEY or --admin-key-file"
                    } else {
                        ""
                    };
                    let text = format!("error: {code} — {message} (HTTP {status}{hint})");
                    (code, message, text)
                }
                Failure::Other { code, message } => {
                    let text = format!("error: {message}");
                    (code.to_owned(), message, text)
                }
            };
            if remote.json {
                println!(
                    "{}",
                    json!({ "status": "error", "code": code, "message": message })
                );
            }
            eprintln!("{text}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Polls the status until RM `rm` serves with `module` (the swap answer comes when it has
/// started); that RM's status, as the swap answer's `{"replica": …}`.
/// A canary that ends in a refusal is an error naming its reason.
fn wait_for_swap(
    remote: &Remote,
    rm: u8,
    module: &str,
    started: &Value,
    wait: Duration,
) -> Result<Value, Failure> {
    let deadline = Instant::now() + wait;
    let canary_before = &started["replica"]["lastCanary"];
    loop {
        let status = call(remote, Method::GET, &["replicas".into()], None)?;
        let replica = status["replicas"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["rm"] == rm);
        if let Some(r) = replica
            && r["module"] == module
            && r["health"] == "serving"
            && r["canary"].is_null()
        {
            return Ok(json!({ "replica": r }));
        }
        if let Some(r) = replica
            && r["lastCanary"] != *canary_before
            && let Some(ended) = r["lastCanary"].as_str()
            && !ended.contains(" promoted after ")
        {
            return Err(Failure::Other {
                code: "canary-refused",
                message: format!("the canary swap on RM {rm} did not go ahead: {ended}"),
            });
        }
        if Instant::now() >= deadline {
            return Err(Failure::Other {
                code: "swap-pending",
                message: format!(
                    "the swap started, but RM {rm} does not serve with {module} after {} s; \
                     `dmtbs status` shows its progress",
                    wait.as_secs()
                ),
            });
        }
        std::thread::sleep(SWAP_POLL);
    }
}

/// Sends one request to `/v1/admin/<path>` with the admin key; the JSON answer.
fn call(
    remote: &Remote,
    method: Method,
    path: &[String],
    body: Option<Value>,
) -> Result<Value, Failure> {
    let other = |code, message: String| Failure::Other { code, message };
    let mut url = reqwest::Url::parse(&remote.url).map_err(|e| {
        other(
            "invalid-url",
            format!("invalid front end URL {:?}: {e}", remote.url),
        )
    })?;
    url.path_segments_mut()
        .map_err(|()| {
            other(
                "invalid-url",
                format!("{:?} is not an http(s) URL", remote.url),
            )
        })?
        .pop_if_empty()
        .extend(["v1", "admin"])
        .extend(path);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| other("runtime", format!("starting the async runtime: {e}")))?;
    let no_answer = |e: reqwest::Error| {
        let code = if e.is_timeout() {
            "timeout"
        } else if e.is_connect() {
            "connect"
        } else {
            "transport"
        };
        other(
            code,
            format!(
                "no answer from the front end at {}: {}",
                remote.url,
                error_chain(&e)
            ),
        )
    };
    runtime.block_on(async {
        let http = reqwest::Client::builder()
            .timeout(dmtbs_client::Client::DEFAULT_TIMEOUT)
            .build()
            .map_err(no_answer)?;
        let mut request = http.request(method, url);
        if let Some(key) = &remote.admin_key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(no_answer)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(no_answer)?;
        let value: Value = serde_json::from_slice(&body).map_err(|e| {
            other(
                "unexpected-answer",
                format!("the answer (HTTP {status}) is not the DMTBS API's: {e}"),
            )
        })?;
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let text = |field: &str| value["error"][field].as_str().map(str::to_owned);
        match (text("code"), text("message")) {
            (Some(code), Some(message)) => Err(Failure::Api {
                status,
                code,
                message,
            }),
            _ => Err(other(
                "unexpected-answer",
                format!("the answer (HTTP {status}) is not the DMTBS API's: {value}"),
            )),
        }
    })
}

/// The first [`SHORT_HEX`] characters of a hex string.
fn short(hex: &Value) -> String {
    hex.as_str()
        .unwrap_or("?")
        .chars()
        .take(SHORT_HEX)
        .collect()
}

/// A JSON scalar as a table cell.
fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// `RM 3 did not answer.` lines for the front end's `silent` list.
fn silent(answer: &Value) -> String {
    let mut out = String::new();
    for rm in answer["silent"].as_array().into_iter().flatten() {
        out += &format!("RM {rm} did not answer.\n");
    }
    out
}

/// The quarantine list as a table, or a sentence when it is empty.
fn quarantine_table(list: &Value) -> String {
    let rows: Vec<Vec<String>> = list
        .as_array()
        .into_iter()
        .flatten()
        .map(|q| {
            vec![
                cell(&q["module"]),
                short(&q["hash"]),
                cell(&q["by"]),
                cell(&q["reason"]),
            ]
        })
        .collect();
    if rows.is_empty() {
        "No module is quarantined.\n".into()
    } else {
        format!(
            "Quarantined:\n{}\n",
            table(&["MODULE", "HASH", "BY RM", "REASON"], &rows)
        )
    }
}

/// RMs running one module (by hash) between them: the N-version protection is gone for them
/// (a swap refuses to do this without `--force`, but a fallback after a quarantine can).
fn shared_modules(replicas: &[Value]) -> String {
    let mut by_hash: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for r in replicas {
        if let Some(hash) = r["hash"].as_str().filter(|h| !h.is_empty()) {
            by_hash.entry(hash).or_default().push(cell(&r["rm"]));
        }
    }
    let mut out = String::new();
    for (hash, rms) in by_hash.into_iter().filter(|(_, rms)| rms.len() > 1) {
        let module = replicas
            .iter()
            .find(|r| r["hash"] == hash)
            .map_or_else(String::new, |r| cell(&r["module"]));
        out += &format!(
            "Warning: RM {} run one implementation ({module}, hash {}): a bug in it would be \
             outvoted by nobody; swap all but one of them to another implementation.\n",
            rms.join(" and RM "),
            &hash[..12.min(hash.len())]
        );
    }
    out
}

/// One RM's status (the API's `status_json`) as a table row.
fn status_row(r: &Value) -> Vec<String> {
    let checkpoint = &r["stableCheckpoint"];
    vec![
        cell(&r["rm"]),
        cell(&r["module"]),
        short(&r["hash"]),
        cell(&r["health"]),
        cell(&r["appliedThrough"]),
        cell(&r["durableThrough"]),
        cell(&r["epoch"]),
        cell(&r["commitP99Ms"]),
        cell(&r["consecutiveWrong"]),
        cell(&r["swaps"]),
        format!(
            "{} ({})",
            cell(&checkpoint["seq"]),
            short(&checkpoint["digest"])
        ),
    ]
}

const STATUS_HEADERS: [&str; 11] = [
    "RM",
    "MODULE",
    "HASH",
    "HEALTH",
    "APPLIED",
    "ON DISK",
    "EPOCH",
    "FSYNC P99 MS",
    "WRONG",
    "SWAPS",
    "STABLE CHECKPOINT",
];

/// The answer in sentences and tables, ending with a newline.
fn describe(command: &Command, answer: &Value) -> String {
    match command {
        Command::Status { .. } => {
            let replicas = answer["replicas"].as_array().cloned().unwrap_or_default();
            let rows: Vec<Vec<String>> = replicas.iter().map(status_row).collect();
            let mut out = format!("{}\n", table(&STATUS_HEADERS, &rows));
            out += &silent(answer);
            out += &shared_modules(&replicas);
            // Canary swaps: the one in progress, else how the last one ended.
            for r in &replicas {
                if let Some(c) = r["canary"].as_object() {
                    out += &format!(
                        "RM {}: canary of {} in shadow, {} of {} requests agreed so far.\n",
                        cell(&r["rm"]),
                        cell(&c["module"]),
                        cell(&c["compared"]),
                        cell(&c["requests"])
                    );
                } else if let Some(last) = r["lastCanary"].as_str() {
                    out += &format!("RM {}: last canary: {last}.\n", cell(&r["rm"]));
                }
            }
            // Every RM reports the cluster-wide list as it knows it; the first one shown.
            let quarantine = replicas
                .iter()
                .map(|r| &r["quarantine"])
                .find(|q| q.as_array().is_some_and(|q| !q.is_empty()));
            if let Some(q) = quarantine {
                out += &quarantine_table(q);
            }
            out
        }
        Command::Swap { rm, module, .. } => {
            let r = &answer["replica"];
            let what = if r["module"] == module.as_str() {
                format!("RM {rm} now runs {module}")
            } else if r["canary"]["module"] == module.as_str() {
                format!(
                    "RM {rm} runs {module} in shadow first (canary: {} of {} requests agreed so \
                     far; `dmtbs status` shows how it ends) and still serves with {}",
                    cell(&r["canary"]["compared"]),
                    cell(&r["canary"]["requests"]),
                    cell(&r["module"])
                )
            } else {
                format!("RM {rm} is swapping to {module} (`dmtbs status` shows when it runs)")
            };
            format!(
                "{what} (hash {}, {}, {} swap{} so far).\n",
                short(&r["hash"]),
                cell(&r["health"]),
                cell(&r["swaps"]),
                if r["swaps"] == 1 { "" } else { "s" }
            )
        }
        Command::Quarantine {
            action: Quarantine::List { .. },
        } => quarantine_table(&answer["quarantine"]) + &silent(answer),
        Command::Quarantine {
            action: Quarantine::Clear { module, .. },
        } => {
            let what = match module {
                Some(m) => format!("Cleared the quarantine of {m}."),
                None => "Cleared every quarantine.".into(),
            };
            format!(
                "{what}\n{}{}",
                quarantine_table(&answer["quarantine"]),
                silent(answer)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_warns_when_rms_share_an_implementation_and_only_then() {
        let rm =
            |id: u8, module: &str, hash: &str| json!({"rm": id, "module": module, "hash": hash});
        let distinct = [rm(1, "replica-a", "aa11"), rm(2, "replica-b", "bb22")];
        assert_eq!(shared_modules(&distinct), "");
        let shared = [
            rm(1, "replica-a", "aa11"),
            rm(2, "replica-b", "bb22"),
            rm(3, "replica-d", "dd44"),
            rm(4, "replica-d", "dd44"),
        ];
        assert_eq!(
            shared_modules(&shared),
            "Warning: RM 3 and RM 4 run one implementation (replica-d, hash dd44): a bug in it \
             would be outvoted by nobody; swap all but one of them to another implementation.\n"
        );
    }
}
