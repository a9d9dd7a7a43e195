#!/usr/bin/env python3
"""Mutation campaigns on one replica implementation: how many of its bugs would voting catch?

    just mutants replica-a [N] [SEED]          # the recipe; N = 0 judges every mutant
    tools/mutants/mutants.py replica-a --sample 40 --seed 7 --max-minutes 25
    tools/mutants/mutants.py --table replicas-wasm/target/mutants/results/*.json

For one implementation (`replicas-wasm/replica-x`), `cargo mutants --list --json` enumerates
the mutants of its non-test source. Each mutant, or a seeded sample of N, is applied in a
scratch copy of the guest workspace (`replicas-wasm/target/mutants/tree`, never the working
tree), built to a component (`cargo build --release --target wasm32-wasip2`, target dir
`replicas-wasm/target/mutants/build`, so builds stay incremental) and judged by the project's
own checks, `dmtbs module check` (cli/src/module.rs):

1. the conformance pack (answers worked out from the rules) and a differential of 20,000
   requests (seed 1) beside the four reference implementations;
2. if it agreed there, the wide workload (`--wide`, 30,000 requests, the coverage gate's seed).

A mutant is then
- caught by voting: it diverged from the references (a result, a state digest, a state
  transfer, or a trap / fuel / memory failure where they answered) in either differential —
  three correct implementations outvote it;
- caught only by the pack: it agreed with the references wherever compared, but the pack's
  hand-worked answers caught it (the independent model adds nothing here: it agrees with the
  references on these workloads, as tests/replicas checks);
- unviable: it does not build; timeout: its build or check ran past the per-mutant timeout;
- surviving: nothing caught it.

A Python script, not a crate: it only drives other programs (cargo mutants, cargo, dmtbs),
links none of the project's code, and needs no build of its own. Results go to
`replicas-wasm/target/mutants/results/<replica>-seed<SEED>-<nN|all>.json`; the table is printed at
the end (and by --table for several results files). docs/nversion.md has the method and the
figures. Only one campaign runs at a time (a lock on the scratch tree).
"""

import argparse
import fcntl
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUEST_WS = ROOT / "replicas-wasm"
WORK = GUEST_WS / "target" / "mutants"
TREE = WORK / "tree"
BUILD = WORK / "build"
RESULTS = WORK / "results"
TARGET = "wasm32-wasip2"
IMPLEMENTATIONS = ["replica-a", "replica-b", "replica-c", "replica-d"]
# The two differentials: module check's own default (the narrow workload), then the wide one
# with the seed of tests/replicas' coverage gate (0x0057_1DE5).
CHECKS = [
    ["--requests", "20000", "--seed", "1"],
    ["--wide", "--requests", "30000", "--seed", str(0x0057_1DE5)],
]
OUTCOMES = ["voting", "pack", "unviable", "timeout", "surviving", "error"]


def log(msg):
    print(msg, flush=True)


def nice(cmd):
    return ["nice", "-n", "19"] + cmd


def sync_tree():
    """Copies the guest workspace's sources (and the WIT it builds from) into the scratch tree,
    writing only files whose content differs, so unchanged crates stay built."""
    members = ["guest"] + IMPLEMENTATIONS
    pairs = [(GUEST_WS / f, TREE / "replicas-wasm" / f) for f in ("Cargo.toml", "Cargo.lock")]
    # The WIT, where the guest crate reads it: through replicas-wasm/wit (a link to wit/, copied
    # as files here), and beside replicas-wasm/ as older guests did.
    wit = [(ROOT / "wit", TREE / "replicas-wasm" / "wit"), (ROOT / "wit", TREE / "wit")]
    for src_dir, dst_dir in [(GUEST_WS / m, TREE / "replicas-wasm" / m) for m in members] + wit:
        for src in src_dir.rglob("*"):
            if src.is_file() and "target" not in src.relative_to(src_dir).parts:
                pairs.append((src, dst_dir / src.relative_to(src_dir)))
    for src, dst in pairs:
        data = src.read_bytes()
        if not dst.exists() or dst.read_bytes() != data:
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(data)


def list_mutants(replica):
    out = subprocess.run(
        nice(["cargo", "mutants", "--list", "--json", "-p", replica,
              "-e", f"{replica}/src/tests.rs", "-e", f"{replica}/src/tests/**"]),
        cwd=TREE / "replicas-wasm", check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


def mutate(text, mutant):
    """The source with the mutant's span replaced (cargo-mutants' lines and columns are
    1-based, the end exclusive)."""
    lines = text.split("\n")
    span = mutant["span"]
    (l0, c0), (l1, c1) = [(span[k]["line"] - 1, span[k]["column"] - 1) for k in ("start", "end")]
    start = sum(len(l) + 1 for l in lines[:l0]) + c0
    end = sum(len(l) + 1 for l in lines[:l1]) + c1
    return text[:start] + mutant["replacement"] + text[end:]


def build(replica, timeout):
    """Builds the tree's `replica`; returns ("ok", wasm path) or ("unviable" | "timeout", log)."""
    cmd = nice(["cargo", "build", "--release", "--quiet", "--target", TARGET,
                "-p", replica, "--target-dir", str(BUILD)])
    try:
        p = subprocess.run(cmd, cwd=TREE / "replicas-wasm", capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", "build timed out"
    if p.returncode != 0:
        return "unviable", p.stderr[-2000:]
    return "ok", BUILD / TARGET / "release" / (replica.replace("-", "_") + ".wasm")


def judge(dmtbs, wasm, deadline, extra):
    """Runs `dmtbs module check` (narrow, then wide): the outcome and what it printed."""
    pack_failed, notes = False, []
    for args in CHECKS:
        args = args + extra
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout", notes
        try:
            p = subprocess.run(nice([str(dmtbs), "module", "check", str(wasm)] + args),
                               capture_output=True, text=True, timeout=left)
        except subprocess.TimeoutExpired:
            return "timeout", notes + ["check timed out"]
        out = p.stdout
        if p.returncode == 2 or ("DIVERGES" not in out and "agrees with" not in out):
            return "error", notes + [(p.stdout + p.stderr)[-1500:]]
        if "\nFAILS " in "\n" + out:
            pack_failed = True
            lines = out.splitlines()
            first = next(i for i, l in enumerate(lines) if l.startswith("FAILS "))
            notes.append("\n".join(lines[first:first + 3]))  # the count, the first scenario
        if "DIVERGES" in out:
            notes.append(out[out.index("DIVERGES"):][:1500])
            return "voting", notes
    return ("pack" if pack_failed else "surviving"), notes


def table(results):
    head = ("| implementation | mutants | sampled | judged | caught by voting "
            "| caught only by the pack | unviable | timeout | surviving | seed |")
    rows = [head, "|" + "---|" * 10]
    for r in results:
        c = {k: sum(1 for m in r["mutants"] if m["outcome"] == k) for k in OUTCOMES}
        judged = len(r["mutants"])
        extra = f" (+{c['error']} unjudged: error)" if c["error"] else ""
        rows.append(f"| {r['replica']} | {r['total']} | {r['sampled']} | {judged} | {c['voting']} "
                    f"| {c['pack']} | {c['unviable']} | {c['timeout']} | {c['surviving']}{extra} "
                    f"| {r['seed']} |")
    return "\n".join(rows)


def campaign(a):
    if a.replica not in IMPLEMENTATIONS:
        sys.exit(f"unknown implementation {a.replica!r}: one of {', '.join(IMPLEMENTATIONS)}")
    if not shutil.which("cargo-mutants"):
        sys.exit("cargo-mutants is missing: cargo install --locked cargo-mutants (just mutants does)")
    dmtbs = Path(a.dmtbs)
    if not dmtbs.is_file():
        sys.exit(f"{dmtbs} is missing: cargo build -p dmtbs-cli")
    started = time.monotonic()
    stop_at = started + a.max_minutes * 60
    WORK.mkdir(parents=True, exist_ok=True)
    lock = open(WORK / "lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"another campaign holds {WORK / 'lock'}; one at a time")
    # A stop by signal still restores the mutated file (the `finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped (SIGTERM)"))
    # The judge is copied first: a rebuild of target/debug meanwhile (others' work) must not
    # change the checks halfway through a campaign.
    judge_bin = WORK / "judge" / "dmtbs"
    judge_bin.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(dmtbs, judge_bin)
    dmtbs = judge_bin
    extra = []
    if a.pack:
        pack_copy = WORK / "judge" / "pack.jsonl"
        shutil.copyfile(a.pack, pack_copy)
        extra = ["--pack", str(pack_copy)]
    sync_tree()
    mutants = list_mutants(a.replica)
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1, 2**32)
    # In the seed's random order, so that a campaign cut short by --max-minutes has still
    # judged a random sample.
    n = a.sample if 0 < a.sample < len(mutants) else len(mutants)
    order = random.Random(seed).sample(range(len(mutants)), n)
    if a.mutant:  # named ones only (to judge survivors again, say with another pack)
        order = [i for i, m in enumerate(mutants) if m["name"] in a.mutant]
        missing = set(a.mutant) - {mutants[i]["name"] for i in order}
        if missing:
            sys.exit(f"no such mutant of {a.replica}: {sorted(missing)}")
    log(f"{a.replica}: {len(mutants)} mutants, judging {len(order)} (seed {seed}); "
        f"timeout {a.timeout} s each, at most {a.max_minutes} min")
    log(f"replay: tools/mutants/mutants.py {a.replica} --sample {a.sample} --seed {seed}"
        + (f" --pack {a.pack}" if a.pack else ""))

    # The unmutated implementation must build and survive, or nothing can be judged.
    status, wasm = build(a.replica, a.timeout * 4)
    if status != "ok":
        sys.exit(f"the unmutated {a.replica} does not build: {wasm}")
    outcome, notes = judge(dmtbs, wasm, time.monotonic() + a.timeout, extra)
    if outcome != "surviving":
        sys.exit(f"the unmutated {a.replica} is judged {outcome}: {notes}")
    pack = subprocess.run([str(dmtbs), "module", "check", str(wasm), "--requests", "1"] + extra,
                          capture_output=True, text=True).stdout
    pack = next((l for l in pack.splitlines() if l.startswith("passes")), "?")
    log(f"the unmutated {a.replica} builds and {pack}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    size = "all" if len(order) == len(mutants) else f"n{len(order)}"
    size += "-named" if a.mutant else ""
    out_file = RESULTS / f"{a.replica}-seed{seed}-{size}.json"
    record = {"replica": a.replica, "seed": seed, "total": len(mutants), "sampled": len(order),
              "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "command": f"tools/mutants/mutants.py {a.replica} --sample {a.sample} --seed {seed}"
                         + (f" --pack {a.pack}" if a.pack else ""),
              "pack": pack, "checks": CHECKS,
              "mutants": []}
    for n, i in enumerate(order, 1):
        if time.monotonic() >= stop_at:
            log(f"--max-minutes reached: {len(order) - n + 1} sampled mutants not judged")
            break
        m = mutants[i]
        path = TREE / "replicas-wasm" / m["file"]
        original = path.read_text()
        t0 = time.monotonic()
        try:
            path.write_text(mutate(original, m))
            status, wasm = build(a.replica, a.timeout)
            if status == "ok":
                judged = WORK / "judged" / f"{a.replica}.wasm"
                judged.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(wasm, judged)
                outcome, notes = judge(dmtbs, judged, t0 + a.timeout, extra)
            else:
                outcome, notes = status, [wasm] if status == "unviable" else []
        finally:
            path.write_text(original)
        took = time.monotonic() - t0
        record["mutants"].append({"index": i, "name": m["name"], "outcome": outcome,
                                  "seconds": round(took, 1), "notes": notes, "diff": m["diff"]})
        log(f"[{n}/{len(order)}] {outcome:9} {took:5.1f}s  {m['name']}")
        out_file.write_text(json.dumps(record, indent=1))
    out_file.write_text(json.dumps(record, indent=1))
    log(f"\n{table([record])}\n\nresults: {out_file.relative_to(ROOT)} "
        f"({(time.monotonic() - started) / 60:.1f} min)")
    for m in record["mutants"]:
        if m["outcome"] == "surviving":
            log(f"surviving: {m['name']}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("replica", nargs="?", help="replica-a, replica-b, replica-c or replica-d")
    p.add_argument("--sample", type=int, default=0, help="judge a seeded sample of N (0: all)")
    p.add_argument("--seed", type=int, help="the sample's seed (default: a fresh one, printed)")
    p.add_argument("--timeout", type=int, default=300,
                   help="seconds per mutant, build and check (default 300)")
    p.add_argument("--max-minutes", type=float, default=60,
                   help="start no mutant after this many minutes (default 60)")
    p.add_argument("--dmtbs", default=str(ROOT / "target" / "debug" / "dmtbs"),
                   help="the CLI binary whose `module check` judges (default target/debug/dmtbs)")
    p.add_argument("--pack", metavar="FILE",
                   help="the conformance pack to judge with (default: the one built into dmtbs)")
    p.add_argument("--mutant", action="append", metavar="NAME",
                   help="judge only this mutant (its name as listed; repeatable)")
    p.add_argument("--table", nargs="+", metavar="RESULTS",
                   help="print the table of these results files instead of running")
    a = p.parse_args()
    if a.table:
        print(table([json.loads(Path(f).read_text()) for f in a.table]))
    elif a.replica:
        campaign(a)
    else:
        p.error("name an implementation (or --table FILES)")


if __name__ == "__main__":
    main()
