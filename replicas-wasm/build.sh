#!/usr/bin/env bash
# Builds every replica component into target/components/:
#   replica-a … replica-d   the four independent implementations
#   faulty-logic            implementation A with a plausible off-by-one (weekly limit)
#   faulty-random|panic|loop|memory|corrupt   implementation B with a generic fault (guest crate features)
#   std-probe               a std component for the host's WASI determinism tests (not a replica)
#   replica-template        the starting point of docs/writing-a-replica.md (implements nothing yet)
#   replica-e               a fifth implementation, std + wit-bindgen: the template completed
# Faulty variants build in their own target dir, so they never overwrite the correct artifacts.
set -euo pipefail
cd "$(dirname "$0")"
out=target/components
mkdir -p "$out"
target=wasm32-wasip2

cargo build --release --target $target --workspace --quiet
for x in a b c d; do
  cp target/$target/release/replica_$x.wasm "$out/replica-$x.wasm"
done

build_variant() { # name package features
  cargo build --release --target $target --target-dir target/faulty --quiet -p "$2" --features "$3"
  cp target/faulty/$target/release/${2//-/_}.wasm "$out/$1.wasm"
}
build_variant faulty-logic replica-a fault-logic
for fault in random panic loop memory corrupt; do
  build_variant faulty-$fault replica-b dmtbs-guest/fault-$fault
done
# Its own workspace (std wit-bindgen features must not reach the no_std replicas).
cargo build --release --target $target --target-dir target/std-probe --quiet \
  --manifest-path std-probe/Cargo.toml
cp target/std-probe/$target/release/std_probe.wasm "$out/std-probe.wasm"
cargo build --release --target $target --target-dir target/std-probe --quiet \
  --manifest-path template/Cargo.toml
cp target/std-probe/$target/release/replica_template.wasm "$out/replica-template.wasm"
cargo build --release --target $target --target-dir target/std-probe --quiet \
  --manifest-path replica-e/Cargo.toml
cp target/std-probe/$target/release/replica_e.wasm "$out/replica-e.wasm"
ls -l "$out"
