//! The booking commands: one subcommand per booking operation (`add-show`, `remove-show`,
//! `availability`, `book`, `schedule`, `cancel`, `exchange`), sent through `dmtbs-client`.
//!
//! Each prints a sentence or a table (or, with `--json`, one JSON object on stdout), appends the
//! request and its answer to the caller's client log ([`crate::clientlog`]), and exits with
//! 0 — done; 1 — refused by the booking rules (any rule code, including a malformed value the
//! front end refused before sequencing: `invalid-show-id`, …); 2 — anything else (the cluster
//! unreachable or without agreement, a missing, refused or unsafe token, bad flags).
//!
//! Every command proves who its caller (`--as`) is with that user's token, found as
//! [`crate::token`] says: `$DMTBS_TOKEN`, `--token-file`, the credential store, or the demo
//! tokens of the cluster `dmtbs up` runs from this folder.
//!
//! Values are sent as typed: the front end canonicalises letter case and spaces. The command
//! canonicalises them the same way (the front end's own code) only to print and log them.
//!
//! The state-changing commands (add-show, remove-show, book, cancel, exchange) send an
//! `Idempotency-Key` — a fresh random one, or `--idempotency-key KEY` — and, through
//! `dmtbs-client`, try the same request with the same key again when there is no answer or the
//! answer is 503 (3 tries over about 2 s): the operation is executed at most once. The key is in
//! the `--json` object and the client log (`idempotencyKey`), so a command whose outcome is unknown
//! can be repeated with `--idempotency-key` and the same flags: the cluster answers as the first
//! time (`replayed`: the sequence number of that first execution) or executes it now. The reads
//! (availability, schedule) send a key only when given one.

use std::fmt::Write as _;
use std::process::ExitCode;

use dmtbs_client::{
    AddShow, Answer, Availability, Book, Cancel, Client, Error, Exchange, Operation, RemoveShow,
    Schedule, Success, mutates, new_idempotency_key,
};
use dmtbs_frontend::http::{success_json, success_kind};
use dmtbs_frontend::validate::{self, RawOperation};
use serde_json::{Value, json};

use crate::clientlog::LogArgs;

/// Exit code: the request was refused by the booking rules.
pub const EXIT_REFUSED: u8 = 1;
/// Exit code: anything else went wrong (no answer, no agreement, not authenticated, bad flags).
pub const EXIT_ERROR: u8 = 2;

/// Which front end to ask, with what key, and how to print the answer.
#[derive(clap::Args, Clone, Debug)]
pub struct Remote {
    /// The front end's URL.
    #[arg(long, env = "DMTBS_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// A file whose first line is the cluster's admin key, presented only by the operator
    /// commands and by token management without --as. Without it: `$DMTBS_ADMIN_KEY`, or, for
    /// the cluster `dmtbs up` runs from this folder, the key in `.dmtbs/run/cluster.toml`.
    /// Never on the command line itself: `ps` shows every process's arguments.
    #[arg(long, value_name = "FILE")]
    pub admin_key_file: Option<std::path::PathBuf>,
    /// The admin key found ([`Remote::resolve_admin_key`]).
    #[arg(skip)]
    pub admin_key: Option<String>,
    /// Print one JSON object on stdout instead of sentences and tables.
    #[arg(long)]
    pub json: bool,
}

/// The flags every booking command shares.
#[derive(clap::Args, Clone, Debug)]
pub struct Common {
    #[command(flatten)]
    pub remote: Remote,
    #[command(flatten)]
    pub log: LogArgs,
    /// The request's idempotency key (1 to 128 characters of printable ASCII, no spaces);
    /// default: a fresh random one for add-show, remove-show, book, cancel and exchange, none for
    /// the reads. Give the key of an earlier command (printed by --json, kept in the client log)
    /// to repeat it safely: executed at most once, answered as the first time.
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    /// A file whose first line is the caller's token (owner-only: a file others may read is
    /// refused). Without it: `$DMTBS_TOKEN`, the credential store (~/.config/dmtbs/tokens/USER),
    /// or the demo tokens of the cluster `dmtbs up` runs from this folder.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<std::path::PathBuf>,
}

/// The caller.
#[derive(clap::Args, Clone, Debug)]
pub struct Caller {
    /// Who is acting: a user ID, any letter case (ATWA0001 is an admin, ATWC0001 a customer).
    /// Required, from the flag or the environment: not marked required for clap, so that the
    /// usage line does not demand a flag `$DMTBS_USER` may give (checked in [`main`]).
    #[arg(long = "as", value_name = "USER", env = "DMTBS_USER", default_value_t = String::new(),
          hide_default_value = true)]
    pub actor: String,
}

/// The caller and the customer acted for.
#[derive(clap::Args, Clone, Debug)]
pub struct CallerFor {
    #[command(flatten)]
    pub caller: Caller,
    /// The customer whose bookings these are; default: the caller. Admins may act for any
    /// customer.
    #[arg(long = "for", value_name = "CUSTOMER")]
    pub customer: Option<String>,
}

impl CallerFor {
    fn split(self) -> (String, String) {
        let customer = self.customer.unwrap_or_else(|| self.caller.actor.clone());
        (self.caller.actor, customer)
    }
}

/// The booking operations, one subcommand each.
#[derive(clap::Subcommand, Clone, Debug)]
pub enum Command {
    /// Admin: add a show of a movie, or set the capacity of an existing one.
    AddShow {
        #[command(flatten)]
        who: Caller,
        /// The movie, any letter case (e.g. avatar).
        #[arg(long)]
        movie: String,
        /// The show ID, any letter case: area, slot M/A/E, date ddmmyy (e.g. ATWM251126).
        #[arg(long = "show", value_name = "SHOW_ID")]
        show_id: String,
        /// Seats on the show.
        #[arg(long)]
        capacity: u32,
        #[command(flatten)]
        common: Common,
    },
    /// Admin: remove a show; its bookings move to a later show of the movie or are dropped.
    RemoveShow {
        #[command(flatten)]
        who: Caller,
        /// The movie, any letter case (e.g. avatar).
        #[arg(long)]
        movie: String,
        /// The show ID, any letter case: area, slot M/A/E, date ddmmyy (e.g. ATWM251126).
        #[arg(long = "show", value_name = "SHOW_ID")]
        show_id: String,
        #[command(flatten)]
        common: Common,
    },
    /// The seats left on every show of a movie from today on, in every area.
    Availability {
        #[command(flatten)]
        who: Caller,
        /// The movie, any letter case (e.g. avatar).
        #[arg(long)]
        movie: String,
        #[command(flatten)]
        common: Common,
    },
    /// Book tickets on a show.
    Book {
        #[command(flatten)]
        who: CallerFor,
        /// The movie, any letter case (e.g. avatar).
        #[arg(long)]
        movie: String,
        /// The show ID, any letter case: area, slot M/A/E, date ddmmyy (e.g. ATWM251126).
        #[arg(long = "show", value_name = "SHOW_ID")]
        show_id: String,
        /// How many tickets.
        #[arg(long)]
        tickets: u32,
        #[command(flatten)]
        common: Common,
    },
    /// A customer's bookings, past ones included.
    Schedule {
        #[command(flatten)]
        who: CallerFor,
        #[command(flatten)]
        common: Common,
    },
    /// Cancel some or all of the tickets booked on a show.
    Cancel {
        #[command(flatten)]
        who: CallerFor,
        /// The movie, any letter case (e.g. avatar).
        #[arg(long)]
        movie: String,
        /// The show ID, any letter case: area, slot M/A/E, date ddmmyy (e.g. ATWM251126).
        #[arg(long = "show", value_name = "SHOW_ID")]
        show_id: String,
        /// How many tickets.
        #[arg(long)]
        tickets: u32,
        #[command(flatten)]
        common: Common,
    },
    /// Move tickets from a booked show to another show, all or nothing.
    Exchange {
        #[command(flatten)]
        who: CallerFor,
        /// The movie of the booked show.
        #[arg(long, visible_alias = "old-movie")]
        movie: String,
        /// The booked show.
        #[arg(long = "show", visible_alias = "old-show", value_name = "SHOW_ID")]
        show_id: String,
        /// The movie of the new show; default: the same movie.
        #[arg(long)]
        new_movie: Option<String>,
        /// The new show.
        #[arg(long = "new-show", value_name = "SHOW_ID")]
        new_show_id: String,
        /// How many tickets.
        #[arg(long)]
        tickets: u32,
        #[command(flatten)]
        common: Common,
    },
}

impl Command {
    /// The contract operation, with values as typed, and the shared flags.
    fn into_parts(self) -> (Operation, Common) {
        match self {
            Command::AddShow {
                who,
                movie,
                show_id,
                capacity,
                common,
            } => (
                Operation::AddShow(AddShow {
                    actor: who.actor,
                    movie,
                    show_id,
                    capacity,
                }),
                common,
            ),
            Command::RemoveShow {
                who,
                movie,
                show_id,
                common,
            } => (
                Operation::RemoveShow(RemoveShow {
                    actor: who.actor,
                    movie,
                    show_id,
                }),
                common,
            ),
            Command::Availability { who, movie, common } => (
                Operation::Availability(Availability {
                    actor: who.actor,
                    movie,
                }),
                common,
            ),
            Command::Book {
                who,
                movie,
                show_id,
                tickets,
                common,
            } => {
                let (actor, customer) = who.split();
                let op = Book {
                    actor,
                    customer,
                    movie,
                    show_id,
                    tickets,
                };
                (Operation::Book(op), common)
            }
            Command::Schedule { who, common } => {
                let (actor, customer) = who.split();
                (Operation::Schedule(Schedule { actor, customer }), common)
            }
            Command::Cancel {
                who,
                movie,
                show_id,
                tickets,
                common,
            } => {
                let (actor, customer) = who.split();
                let op = Cancel {
                    actor,
                    customer,
                    movie,
                    show_id,
                    tickets,
                };
                (Operation::Cancel(op), common)
            }
            Command::Exchange {
                who,
                movie,
                show_id,
                new_movie,
                new_show_id,
                tickets,
                common,
            } => {
                let (actor, customer) = who.split();
                let op = Exchange {
                    actor,
                    customer,
                    new_movie: new_movie.unwrap_or_else(|| movie.clone()),
                    old_movie: movie,
                    old_show_id: show_id,
                    new_show_id,
                    tickets,
                };
                (Operation::Exchange(op), common)
            }
        }
    }
}

/// How a command ended, as its exit code says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Done,
    Refused,
    Failed,
}

impl Verdict {
    fn of<T>(result: &Result<T, Error>) -> Verdict {
        match result {
            Ok(_) => Verdict::Done,
            Err(Error::Api(e)) if e.booking_error().is_some() => Verdict::Refused,
            Err(_) => Verdict::Failed,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Done => "ok",
            Verdict::Refused => "refused",
            Verdict::Failed => "error",
        }
    }

    fn exit_code(self) -> ExitCode {
        match self {
            Verdict::Done => ExitCode::SUCCESS,
            Verdict::Refused => ExitCode::from(EXIT_REFUSED),
            Verdict::Failed => ExitCode::from(EXIT_ERROR),
        }
    }
}

/// Runs one booking command: send, print, log, exit code.
pub fn main(command: Command) -> ExitCode {
    let (operation, common) = command.into_parts();
    let (caller, _) = RawOperation::from_operation(&operation);
    if caller.is_empty() {
        eprintln!("error: who is acting? Give --as USER (e.g. --as ATWC0001) or set $DMTBS_USER");
        return ExitCode::from(EXIT_ERROR);
    }
    let token =
        match crate::token::find_token(&caller, common.token_file.as_deref(), &common.remote.url) {
            Ok(token) => token,
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(EXIT_ERROR);
            }
        };
    let remote = &common.remote;
    let key = common
        .idempotency_key
        .clone()
        .or_else(|| mutates(&operation).then(new_idempotency_key));
    let result = send(remote, token.as_deref(), &operation, key.as_deref());
    // Printed and logged in canonical form when the front end's canonicalisation accepts the
    // values (it is the same code), else as typed.
    let shown = validate::canonicalise_operation(&operation).unwrap_or(operation);
    let verdict = Verdict::of(&result);
    let (actor, _) = RawOperation::from_operation(&shown);
    // Canonical when well-formed, even if another value was not: it names the log file.
    let user = validate::user_id("actor", &actor).ok();
    let mut report = report_json(&shown, &result, verdict, remote);
    if let Some(user) = &user {
        report["user"] = user.as_str().into();
    }
    if let Some(key) = &key {
        report["idempotencyKey"] = key.as_str().into();
    }
    if remote.json {
        println!("{report}");
    } else if let Ok(answer) = &result {
        print!("{}", describe(&shown, answer));
    }
    if let Err(e) = &result {
        eprintln!("{}", explain(e, verdict, remote, token.is_some()));
        let unknown = match e {
            Error::Transport(_) => true,
            Error::Api(e) => e.status == 503,
            _ => false,
        };
        if let (true, Some(key)) = (unknown, &key) {
            eprintln!(
                "the request may have been executed; repeat it safely with the same flags and \
                 --idempotency-key {key}"
            );
        }
    }
    common.log.append(user.as_deref(), &remote.url, &report);
    verdict.exit_code()
}

/// Sends the operation with `key` as its idempotency key (tried again as the client does); a
/// runtime that cannot start is reported like any other failure.
fn send(
    remote: &Remote,
    token: Option<&str>,
    operation: &Operation,
    key: Option<&str>,
) -> Result<Answer<Success>, Error> {
    let client = remote.client()?.with_token(token);
    let client = match key {
        Some(key) => client.with_idempotency_key(key),
        None => client,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Unexpected {
            status: 0,
            reason: format!("starting the async runtime: {e}"),
        })?;
    runtime.block_on(client.execute(operation))
}

/// Where the admin key was looked for, for the errors that need it.
pub const ADMIN_KEY_HINT: &str = "give the admin key in $DMTBS_ADMIN_KEY or in a file named by \
                                  --admin-key-file";

impl Remote {
    /// Finds the admin key: `$DMTBS_ADMIN_KEY`; else the first line of `--admin-key-file`; else,
    /// when the URL is a front end of the cluster `dmtbs up` runs from this folder, the key in
    /// its cluster file (owner-only, so only its owner can read it). An explicit file that
    /// cannot be read, or is empty, is an error.
    pub fn resolve_admin_key(&mut self) -> anyhow::Result<()> {
        use anyhow::Context as _;
        if let Some(key) = std::env::var("DMTBS_ADMIN_KEY")
            .ok()
            .filter(|k| !k.trim().is_empty())
        {
            self.admin_key = Some(key.trim().to_owned());
            return Ok(());
        }
        if let Some(path) = &self.admin_key_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--admin-key-file {}", path.display()))?;
            let key = text.lines().next().unwrap_or("").trim();
            anyhow::ensure!(
                !key.is_empty(),
                "--admin-key-file {}: the file is empty (its first line is the key)",
                path.display()
            );
            self.admin_key = Some(key.to_owned());
            return Ok(());
        }
        if let Some(config) = self.local_cluster() {
            self.admin_key = Some(config.cluster.admin_key);
        }
        Ok(())
    }

    /// The cluster file of the cluster `dmtbs up` runs from this folder, when the URL is one of
    /// its front ends.
    pub fn local_cluster(&self) -> Option<dmtbs_cluster::ClusterConfig> {
        let local = crate::token::local_run_dir().join(dmtbs_cluster::rundir::CONFIG_FILE);
        let config = dmtbs_cluster::ClusterConfig::load(&local).ok()?;
        let url = self.url.trim_end_matches('/');
        config
            .frontends
            .iter()
            .any(|fe| url == format!("http://{}", fe.http))
            .then_some(config)
    }

    /// A client of the front end presenting the admin key, if one was found.
    pub fn client(&self) -> Result<Client, Error> {
        let mut builder = Client::builder(&self.url);
        if let Some(key) = &self.admin_key {
            builder = builder.admin_key(key);
        }
        builder.build()
    }
}

/// The command's answer as one JSON object: the request, then the outcome. Printed by `--json`
/// and appended to the client log.
fn report_json(
    op: &Operation,
    result: &Result<Answer<Success>, Error>,
    verdict: Verdict,
    remote: &Remote,
) -> Value {
    let (user, parameters) = RawOperation::from_operation(op);
    let mut report = json!({
        "command": parameters.name(),
        "user": user,
        "parameters": parameters,
        "status": verdict.label(),
    });
    let fields = match result {
        Ok(answer) => {
            let mut result = success_json(&answer.value);
            if let Some(fields) = result.as_object_mut() {
                fields.remove("outcome");
            }
            json!({
                "outcome": success_kind(&answer.value),
                "seq": answer.seq,
                "agreed": answer.agreed,
                "replayed": answer.replayed,
                "result": result,
            })
        }
        Err(Error::Api(e)) => json!({
            "code": e.code,
            "message": e.message,
            "details": e.details,
            "httpStatus": e.status,
            "seq": e.seq,
            "agreed": e.agreed,
            "replayed": e.replayed,
        }),
        Err(e) => json!({ "code": e.kind(), "message": failure_text(e, remote) }),
    };
    if let (Some(report), Value::Object(fields)) = (report.as_object_mut(), fields) {
        report.extend(fields);
    }
    report
}

/// `seq 14, agreed by RM 1, 3`, and `; replayed from seq 9` when the request was executed before.
fn provenance(seq: u64, agreed: &[u8], replayed: Option<u64>) -> String {
    let rms: Vec<String> = agreed.iter().map(u8::to_string).collect();
    let replayed = match replayed {
        Some(first) => format!("; replayed from seq {first}, not executed again"),
        None => String::new(),
    };
    format!("seq {seq}, agreed by RM {}{replayed}", rms.join(", "))
}

/// `1 ticket`, `2 tickets`.
fn tickets(n: u32) -> String {
    format!("{n} ticket{}", if n == 1 { "" } else { "s" })
}

/// A success, in sentences and tables, ending with a newline.
fn describe(op: &Operation, answer: &Answer<Success>) -> String {
    let from = provenance(answer.seq, &answer.agreed, answer.replayed);
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    match (op, &answer.value) {
        (Operation::AddShow(o), Success::ShowAdded) => line(format!(
            "Added {} {} with {} seats ({from}).",
            o.movie, o.show_id, o.capacity
        )),
        (Operation::AddShow(o), Success::ShowUpdated(old)) => line(format!(
            "Set the capacity of {} {} to {} seats, was {old} ({from}).",
            o.movie, o.show_id, o.capacity
        )),
        (Operation::RemoveShow(o), Success::ShowRemoved(r)) => {
            line(format!(
                "Removed {} {} ({from}): {} booking{} moved, {} dropped.",
                o.movie,
                o.show_id,
                r.moved.len(),
                if r.moved.len() == 1 { "" } else { "s" },
                r.dropped.len()
            ));
            let mut rows: Vec<Vec<String>> = r
                .moved
                .iter()
                .map(|m| {
                    let to = format!("moved to {}", m.to_show_id);
                    vec![m.customer.clone(), to, m.tickets.to_string()]
                })
                .collect();
            rows.extend(
                r.dropped
                    .iter()
                    .map(|d| vec![d.customer.clone(), "dropped".into(), d.tickets.to_string()]),
            );
            if !rows.is_empty() {
                line(table(&["CUSTOMER", "BOOKING", "TICKETS"], &rows));
            }
        }
        (Operation::Availability(o), Success::Availability(shows)) => {
            if shows.is_empty() {
                line(format!("No shows of {} from today on ({from}).", o.movie));
            } else {
                line(format!(
                    "{} — {} show{} ({from}):",
                    o.movie,
                    shows.len(),
                    plural(shows.len())
                ));
                let rows: Vec<Vec<String>> = shows
                    .iter()
                    .map(|s| vec![s.show_id.clone(), s.remaining.to_string()])
                    .collect();
                line(table(&["SHOW", "SEATS LEFT"], &rows));
            }
        }
        (Operation::Book(o), Success::Booked(b)) => line(format!(
            "Booked {} for {} {} ({from}). {} holds {}; {} left.",
            tickets(o.tickets),
            o.movie,
            o.show_id,
            o.customer,
            tickets(b.held),
            b.remaining
        )),
        (Operation::Schedule(o), Success::Schedule(bookings)) => {
            if bookings.is_empty() {
                line(format!("{} has no bookings ({from}).", o.customer));
            } else {
                line(format!(
                    "{} — {} booking{} ({from}):",
                    o.customer,
                    bookings.len(),
                    plural(bookings.len())
                ));
                let rows: Vec<Vec<String>> = bookings
                    .iter()
                    .map(|b| vec![b.movie.clone(), b.show_id.clone(), b.tickets.to_string()])
                    .collect();
                line(table(&["MOVIE", "SHOW", "TICKETS"], &rows));
            }
        }
        (Operation::Cancel(o), Success::Cancelled(held)) => line(format!(
            "Cancelled {} of {} {} for {} ({from}). {} still held.",
            tickets(o.tickets),
            o.movie,
            o.show_id,
            o.customer,
            tickets(*held)
        )),
        (Operation::Exchange(o), Success::Exchanged(e)) => line(format!(
            "Exchanged {} of {} {} for {} {} ({from}). {} now holds {} on the old show and {} \
             on the new.",
            tickets(o.tickets),
            o.old_movie,
            o.old_show_id,
            o.new_movie,
            o.new_show_id,
            o.customer,
            tickets(e.old_held),
            tickets(e.new_held)
        )),
        // The client only returns the success of the operation sent; should a front end answer
        // otherwise, show what it said.
        (_, other) => line(format!("{} ({from})", success_json(other))),
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A plain-text table: a header row, then the rows, columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut text = String::new();
        for (cell, w) in row.iter().zip(&widths) {
            // Writing to a String cannot fail.
            let _ = write!(text, "{cell:<w$}  ");
        }
        out.push_str("  ");
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out.pop();
    out
}

/// The error with its causes, `outer: inner: …`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        // Errors that print their source (`#[error("…: {0}")]`) would repeat it.
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A failure without an answer in the API's error shape, in words.
fn failure_text(e: &Error, remote: &Remote) -> String {
    match e {
        Error::Transport(cause) => format!(
            "no answer from the front end at {}: {}",
            remote.url,
            error_chain(cause)
        ),
        e => error_chain(e),
    }
}

/// A refusal or failure in plain words, for stderr.
fn explain(e: &Error, verdict: Verdict, remote: &Remote, had_token: bool) -> String {
    match (e, verdict) {
        (Error::Api(e), Verdict::Refused) => {
            let when = match e.seq {
                Some(seq) => format!("; {}", provenance(seq, &e.agreed, e.replayed)),
                None => "; refused by the front end before sequencing".into(),
            };
            format!(
                "refused: {} — {} (rule code {}{when})",
                e.code, e.message, e.code
            )
        }
        (Error::Api(e), _) => {
            let hint = match e.code.as_str() {
                "unauthenticated" if !had_token => {
                    format!(
                        "; no token was found for the caller: {}",
                        crate::token::TOKEN_HINT
                    )
                }
                _ => String::new(),
            };
            format!(
                "error: {} — {} (HTTP {}{hint})",
                e.code, e.message, e.status
            )
        }
        (e, _) => format!("error: {}", failure_text(e, remote)),
    }
}
