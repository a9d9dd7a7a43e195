//! The closed, deterministic WASI a std module gets (issue 12).
//!
//! A component built the standard way (`cargo component new --lib`, or std Rust for
//! `wasm32-wasip2`) imports WASI interfaces even when it does no I/O: std's runtime asks for its
//! environment, a clock, random bytes for `HashMap`'s hasher, stdout for `println!`. Refusing
//! those refused every std module. Instead the host links `wasmtime-wasi` with every source of
//! nondeterminism replaced:
//!
//! - clocks: the wall clock stands at 1970-01-01T00:00:00Z and the monotonic clock at 0, for
//!   ever (a replica's only time is the sequencer's `today` in each request);
//! - random: every random source (secure, insecure, the insecure seed) is one fixed-seed
//!   generator per instance, so `HashMap`'s `RandomState` and anything else "random" is the same
//!   on every RM, on every run;
//! - no environment variables, no arguments, stdin closed, no preopened directories (so no file
//!   can be opened), TCP, UDP and name lookup off;
//! - stdout and stderr go to the RM's log, line by line at DEBUG with the module's name, at most
//!   [`OUTPUT_CAP`] bytes per instance (the rest is dropped, said once), so a chatty module can
//!   neither fill a disk nor fail because it printed.
//!
//! And only the interfaces std needs are linkable: [`ALLOWED`] lists the WASI packages a module
//! may import (any 0.2 version); an import of anything else — sockets, HTTP, a made-up
//! interface — is refused at load time, by name (`ModuleError::HasImports`).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

/// Interface-name prefixes (`package/interface`) a module may import, whatever their 0.2.x
/// version: what Rust's std for `wasm32-wasip2` imports, all served deterministically.
pub const ALLOWED: &[&str] = &[
    "wasi:cli/environment@0.2.",
    "wasi:cli/exit@0.2.",
    "wasi:cli/stdin@0.2.",
    "wasi:cli/stdout@0.2.",
    "wasi:cli/stderr@0.2.",
    "wasi:cli/terminal-input@0.2.",
    "wasi:cli/terminal-output@0.2.",
    "wasi:cli/terminal-stdin@0.2.",
    "wasi:cli/terminal-stdout@0.2.",
    "wasi:cli/terminal-stderr@0.2.",
    "wasi:clocks/wall-clock@0.2.",
    "wasi:clocks/monotonic-clock@0.2.",
    "wasi:io/error@0.2.",
    "wasi:io/poll@0.2.",
    "wasi:io/streams@0.2.",
    "wasi:random/random@0.2.",
    "wasi:random/insecure@0.2.",
    "wasi:random/insecure-seed@0.2.",
    "wasi:filesystem/types@0.2.",
    "wasi:filesystem/preopens@0.2.",
];

/// Whether a module may import `name` (an import's full name, e.g. `wasi:io/streams@0.2.3`).
pub fn allowed(name: &str) -> bool {
    ALLOWED.iter().any(|prefix| name.starts_with(prefix))
}

/// Most bytes of stdout and stderr together one instance may log.
pub const OUTPUT_CAP: usize = 64 * 1024;

/// The seed of every instance's random sources: fixed, so every RM draws the same bytes.
const SEED: u64 = 0x444d_5442_535f_5741; // "DMTBS_WA"

/// An instance's WASI state.
pub(crate) struct Wasi {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl Wasi {
    /// A closed, deterministic context for one instance of `module`.
    pub fn new(module: &str) -> Self {
        let output = Output::new(module);
        let mut builder = WasiCtx::builder();
        builder
            .wall_clock(Frozen)
            .monotonic_clock(Frozen)
            .secure_random(SplitMix64(SEED))
            .insecure_random(SplitMix64(SEED ^ 1))
            .insecure_random_seed(u128::from(SEED))
            .stdout(output.clone())
            .stderr(output)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        Wasi {
            ctx: builder.build(),
            table: ResourceTable::new(),
        }
    }

    pub fn view(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// Links the synchronous WASI 0.2 implementation into `linker`.
pub(crate) fn link<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_sync(linker)
}

/// Both clocks, stopped.
struct Frozen;

impl HostWallClock for Frozen {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for Frozen {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small generator whose output is fixed by its seed on
/// every platform and version — what determinism needs, not secrecy.
struct SplitMix64(u64);

impl rand_core::TryRng for SplitMix64 {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.try_next_u64().map(|x| (x >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Ok(z ^ (z >> 31))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let word = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        Ok(())
    }
}

/// stdout and stderr of one instance: complete lines to the log, up to [`OUTPUT_CAP`] bytes.
#[derive(Clone)]
struct Output {
    inner: Arc<Mutex<OutputState>>,
}

struct OutputState {
    module: String,
    line: Vec<u8>,
    written: usize,
    dropped: bool,
}

impl Output {
    fn new(module: &str) -> Self {
        Output {
            inner: Arc::new(Mutex::new(OutputState {
                module: module.to_owned(),
                line: Vec::new(),
                written: 0,
                dropped: false,
            })),
        }
    }
}

impl OutputState {
    fn write(&mut self, bytes: &[u8]) {
        let room = OUTPUT_CAP.saturating_sub(self.written);
        let (kept, rest) = bytes.split_at(bytes.len().min(room));
        self.written += kept.len();
        for &b in kept {
            if b == b'\n' {
                self.emit();
            } else {
                self.line.push(b);
            }
        }
        if !rest.is_empty() && !self.dropped {
            self.dropped = true;
            self.emit();
            tracing::warn!(
                module = self.module,
                cap = OUTPUT_CAP,
                "the replica's output passed the cap; the rest is dropped"
            );
        }
    }

    fn emit(&mut self) {
        if !self.line.is_empty() {
            let text = String::from_utf8_lossy(&self.line);
            tracing::debug!(module = self.module, "replica output: {text}");
            self.line.clear();
        }
    }
}

impl IsTerminal for Output {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Output {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncWrite for Output {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.inner.lock().expect("not poisoned").write(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Output {
    /// Always writable: writes never block.
    async fn ready(&mut self) {}
}

impl OutputStream for Output {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.inner.lock().expect("not poisoned").write(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::Rng as _;

    #[test]
    fn the_random_source_is_the_same_on_every_instance() {
        let draw = || {
            let mut rng = SplitMix64(SEED);
            let mut bytes = [0u8; 13];
            rng.fill_bytes(&mut bytes);
            (rng.next_u64(), bytes)
        };
        assert_eq!(draw(), draw());
        // SplitMix64's published first output for seed 0.
        assert_eq!(SplitMix64(0).next_u64(), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn only_the_interfaces_std_needs_are_allowed() {
        assert!(allowed("wasi:cli/environment@0.2.3"));
        assert!(allowed("wasi:io/streams@0.2.0"));
        assert!(!allowed("wasi:sockets/tcp@0.2.3"));
        assert!(!allowed("wasi:http/outgoing-handler@0.2.3"));
        assert!(!allowed("wasi:cli/environment@0.3.0"));
        assert!(!allowed("evil:cli/environment@0.2.3"));
    }

    #[test]
    fn output_beyond_the_cap_is_dropped_not_kept() {
        let output = Output::new("test");
        let mut state = output.inner.lock().unwrap();
        state.write(&vec![b'x'; OUTPUT_CAP + 10]);
        assert_eq!(state.written, OUTPUT_CAP);
        assert!(state.dropped);
        assert!(state.line.is_empty(), "the partial line was logged");
    }
}
