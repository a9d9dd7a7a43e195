# DMTBS — run `just` to list the recipes.

# Start here: list the recipes.
default:
    @just --list

# Install what a fresh machine lacks (idempotent): the wasm target the replicas build for.
setup:
    rustup target add wasm32-wasip2

# Build the four replica components and the faulty variants into replicas-wasm/target/components.
build-replicas: setup
    replicas-wasm/build.sh

# Start a whole local cluster, one process per node (sequencer, four replica managers, a front end on :8080); Ctrl-C stops it.
up *flags: build-replicas
    cargo run -q -p dmtbs-cli -- up {{flags}}

# Load the four replicas and run a sample workload through them, showing they agree.
demo requests="5000" seed="1": build-replicas
    cargo run --release -q -p dmtbs-cli -- replicas-demo --requests {{requests}} --seed {{seed}}

# Run every test: replica unit tests (native), then the host and acceptance suites.
test: build-replicas
    cd replicas-wasm && cargo test --quiet --target "$(rustc -vV | sed -n 's/^host: //p')" --workspace
    cd replicas-wasm && cargo test --quiet --target "$(rustc -vV | sed -n 's/^host: //p')" --manifest-path replica-e/Cargo.toml --target-dir target/std-native
    cargo build -p dmtbs-cli
    cargo test --workspace

# Check formatting and lints of both workspaces.
lint:
    cargo fmt --all --check
    cd replicas-wasm && cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Run the benchmarks (figures go in docs/benchmarks.md).
bench: build-replicas
    cargo bench -p dmtbs-tests --bench replicas

# End-to-end benchmark through HTTP (release build): 4 replicas, 1 replica, then both under 5 % loss,
# each on a fresh in-process cluster; prints each run, a table and the ratios (docs/benchmarks.md).
bench-cluster requests="10000" clients="8" seed="1": build-replicas
    cargo run --release -q -p dmtbs-cli -- bench --local --matrix --requests {{requests}} --clients {{clients}} --seed {{seed}}

# Deterministic whole-cluster simulation (release build): SEEDS seeds from START, each checked for
# linearizability, lost or doubled requests, equal replica states and the model's answers; ends
# with `N seeds passed, M failed` (docs/testing.md).
sim seeds="500" start="1":
    cargo run --release -q -p dmtbs-sim -- --seeds {{seeds}} --start {{start}}

# A seeded sample of N (0: all) of one implementation's cargo-mutants mutants, each built to a
# component in a scratch copy and judged by `dmtbs module check` (SEED: fresh and printed if unset).
# Mutation campaign: REPLICA's mutants caught by voting, only by the pack, or surviving (docs/nversion.md).
mutants replica n="40" seed="" max_minutes="60": build-replicas
    command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants
    cargo build -q -p dmtbs-cli
    python3 tools/mutants/mutants.py {{replica}} --sample {{n}} {{ if seed != "" { "--seed " + seed } else { "" } }} --max-minutes {{max_minutes}}

# Head to head with etcd, not part of CI (release build; installs Debian's etcd-server and wrk where
# missing; flags: --rounds 3 --seconds 15 --connections 8,32, --perf DIR for flame graphs, see
# tools/bench-compare/compare.py -h).
# DMTBS 4 replicas, 1 replica, 3-member etcd (put, txn): same wrk load, interleaved; table and ratios.
bench-compare *flags: build-replicas
    #!/usr/bin/env bash
    set -euo pipefail
    if ! command -v etcd >/dev/null || ! command -v wrk >/dev/null; then
        s=""; [ "$(id -u)" = 0 ] || s=sudo
        $s env DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server wrk \
            || { $s apt-get update && $s env DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server wrk; }
    fi
    cargo build --release -q -p dmtbs-cli
    python3 tools/bench-compare/compare.py {{flags}}
