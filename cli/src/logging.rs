//! The log: one line per event on stderr, each naming the node that wrote it (`rm2`, `fe1`,
//! `sequencer`, `up`, …) so that `dmtbs up`'s merged output says which node said what.
//!
//! - Level: `RUST_LOG` (e.g. `RUST_LOG=debug`, `RUST_LOG=dmtbs_cluster=debug`), else the
//!   command's default.
//! - Colour only on a terminal, and never with `NO_COLOR` set (<https://no-color.org>).
//! - `DMTBS_LOG_FORMAT=json`: one JSON object per line instead (`timestamp`, `level`, `node`,
//!   `fields`, `target`), for log collectors; the nodes `dmtbs up` starts inherit it.

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Full, Json, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The environment variable choosing the log's format: `text` (default) or `json`.
pub const FORMAT_VAR: &str = "DMTBS_LOG_FORMAT";

/// Sets up the process's log. `node` names the node in every line (none for client commands,
/// whose output is their answer); `default_filter` applies without `RUST_LOG`.
pub fn init(node: Option<String>, default_filter: &str) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| default_filter.into());
    let json = match std::env::var(FORMAT_VAR).as_deref() {
        Err(_) | Ok("" | "text") => false,
        Ok("json") => true,
        Ok(other) => anyhow::bail!("{FORMAT_VAR}={other:?}: the log format is `text` or `json`"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder
            .fmt_fields(JsonFields::new())
            .event_format(JsonNode {
                node,
                inner: tracing_subscriber::fmt::format().json(),
            })
            .init();
    } else {
        builder
            // Colour only for a terminal: a log redirected to a file or a pipe gets no escapes.
            .with_ansi(
                std::io::IsTerminal::is_terminal(&std::io::stderr())
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            )
            .event_format(TextNode {
                node,
                inner: tracing_subscriber::fmt::format(),
            })
            .init();
    }
    Ok(())
}

/// The default text line, after the node's name.
struct TextNode {
    node: Option<String>,
    inner: Format<Full>,
}

impl<S, N> FormatEvent<S, N> for TextNode
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if let Some(node) = &self.node {
            write!(writer, "{node:<9} ")?;
        }
        self.inner.format_event(ctx, writer, event)
    }
}

/// The JSON line with a `node` member.
struct JsonNode {
    node: Option<String>,
    inner: Format<Json>,
}

impl<S> FormatEvent<S, JsonFields> for JsonNode
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        match (&self.node, line.strip_prefix('{')) {
            // The node goes first; the rest of the object is tracing's own.
            (Some(node), Some(rest)) => {
                let node = serde_json::Value::from(node.as_str());
                write!(writer, "{{\"node\":{node},{rest}")
            }
            _ => writer.write_str(&line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer collecting what the subscriber writes.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn text(buffer: &Buffer) -> String {
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn every_text_line_names_its_node_and_has_no_colour_when_asked() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .event_format(TextNode {
                node: Some("rm2".into()),
                inner: tracing_subscriber::fmt::format(),
            })
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(seq = 7, "module quarantined");
            tracing::info!("second line");
        });
        let out = text(&buffer);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines.iter().all(|l| l.starts_with("rm2       ")), "{out}");
        assert!(lines[0].contains("WARN") && lines[0].contains("module quarantined seq=7"));
        assert!(!out.contains('\u{1b}'), "no escape codes: {out:?}");
    }

    #[test]
    fn every_json_line_is_one_object_with_the_node() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .fmt_fields(JsonFields::new())
            .event_format(JsonNode {
                node: Some("fe1".into()),
                inner: tracing_subscriber::fmt::format().json(),
            })
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(rm = 3, "a \"quoted\" message");
        });
        let out = text(&buffer);
        let line: serde_json::Value = serde_json::from_str(out.trim()).expect(&out);
        assert_eq!(line["node"], "fe1");
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["fields"]["message"], "a \"quoted\" message");
        assert_eq!(line["fields"]["rm"], 3);
    }
}
