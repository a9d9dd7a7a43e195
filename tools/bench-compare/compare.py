#!/usr/bin/env python3
"""Head to head: DMTBS (4 replicas, quorum 2), DMTBS (1 replica) and a 3-member etcd, driven by
the same load generator (wrk) with the same random bookings, in interleaved rounds.

`just bench-compare` builds what it needs and runs this (docs/benchmarks.md, "Head to head with
etcd"). This script builds nothing: it expects `target/release/dmtbs`, the replica components in
`replicas-wasm/target/components`, Debian's `etcd` (3.4) and `wrk` on PATH.

Targets, each started fresh in a temporary directory for every run, on loopback ports below the
ephemeral range (23100–23599):

  dmtbs-4     `dmtbs up --port-base 23100` (sequencer, 4 RMs running A–D, quorum 2, a front end)
  http        a bare HTTP round trip: GET /healthz of that same cluster's front end (nothing
              sequenced), measured right after dmtbs-4 on the same cluster
  dmtbs-1     `dmtbs up --config` a file with one RM (replica-a) and quorum 1
  etcd-put    3 etcd members (fsync on, as shipped); PUT /v3/kv/put /booking/<customer>/<show>
  etcd-txn    the same cluster kind; POST /v3/kv/txn: compare the show's seat counter (> 0),
              then put the counter and the booking — one booking as one etcd transaction

Every booking target gets the same list of random bookings (seeded): a customer of one of 300
(100 per area) books 1 or 2 tickets on a random show of its home area (216 shows, every area,
movie and slot over the 8 days of the window, 10,000 seats each), so the booking rules accept
every one. CPU per request is the sum over the target's processes of utime + stime
(/proc/<pid>/stat) across the timed run, divided by the requests answered; it is also reported
per process (`dmtbs rm 2`, `dmtbs fe 1`, `etcd m1`, …), with the context switches per request
(voluntary and involuntary, every thread of the target's processes, from /proc).

With `--perf DIR` every process of every timed run is sampled by `perf record` (DWARF call
graphs, 199 Hz) into DIR, one file per process; where `inferno-collapse-perf` and
`inferno-flamegraph` are on PATH (`cargo install inferno`) each also gets folded stacks
(`.folded`) and a flame graph (`.svg`). Profiling costs CPU: do not quote throughput from a
profiled run.

Every process this script starts is stopped by its pid (also on Ctrl-C or an error).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import http.client
import json
import os
import random
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import zoneinfo
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LUA = Path(__file__).resolve().parent / "requests.lua"
HOST = "127.0.0.1"

AREAS = ["ATW", "OUT", "VER"]
MOVIES = ["Avatar", "Avengers", "Titanic"]
SLOTS = ["M", "A", "E"]
CAPACITY = 10000  # the booking rules' largest capacity
CUSTOMERS_PER_AREA = 100

DMTBS4_BASE = 23100  # dmtbs up --port-base: node ports 231NN, HTTP 23180
DMTBS1_BASE = 23300  # our own cluster file, same layout
ETCD_BASE = 23500  # member i: client 23500 + 10 i + 1, peer + 2

TARGETS = ["dmtbs-4", "dmtbs-1", "etcd-put", "etcd-txn"]
LABELS = {
    "dmtbs-4": "DMTBS, 4 replicas (quorum 2)",
    "dmtbs-1": "DMTBS, 1 replica (quorum 1)",
    "etcd-put": "etcd 3 members, put",
    "etcd-txn": "etcd 3 members, txn (compare + 2 puts)",
    "http": "bare HTTP: DMTBS front end GET /healthz",
}
ROW_ORDER = ["dmtbs-4", "dmtbs-1", "etcd-put", "etcd-txn", "http"]

CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Stopped(Exception):
    """SIGTERM arrived."""


# ---------------------------------------------------------------------------------------------
# Processes: everything we start is tracked by pid and stopped by pid.


class Procs:
    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []
        # Every process seen in a running target's tree: pid -> (start time, root pid). The start
        # time guards against a pid recycled by someone else's process.
        self.known: dict[int, tuple[int, int]] = {}

    def start(self, argv: list[str], *, cwd: Path, log_path: Path, env=None) -> subprocess.Popen:
        out = open(log_path, "ab")
        p = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C reaches only us; we stop them ourselves
        )
        out.close()
        self.adopt(p)
        return p

    def adopt(self, p: subprocess.Popen) -> None:
        self.started.append(p)
        stat = read_stat(p.pid)
        if stat is not None:
            self.known[p.pid] = (int(stat[19]), p.pid)

    def tree(self, root: int) -> list[int]:
        """root and its living descendants (by /proc/<pid>/stat's ppid)."""
        parent: dict[int, int] = {}
        start: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            stat = read_stat(int(entry))
            if stat is not None and stat[0] != "Z":
                parent[int(entry)] = int(stat[1])
                start[int(entry)] = int(stat[19])
        out, frontier = [root], {root}
        while frontier:
            nxt = [pid for pid, pp in parent.items() if pp in frontier and pid not in out]
            out.extend(nxt)
            frontier = set(nxt)
        alive = [pid for pid in out if pid in parent]
        for pid in alive:
            self.known[pid] = (start[pid], root)
        return alive

    def stop(self, p: subprocess.Popen, grace: float = 15.0) -> None:
        """SIGTERM the process (dmtbs up stops its nodes itself), then SIGKILL whatever is left of
        its tree and of the processes seen in it (a node whose supervisor died first), each by
        its pid."""
        if p.poll() is None:
            self.tree(p.pid)
            try:
                os.kill(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        for pid, (started, root) in list(self.known.items()):
            if root != p.pid:
                continue
            stat = read_stat(pid)
            if stat is not None and stat[0] != "Z" and int(stat[19]) == started:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            del self.known[pid]
        if p.poll() is None:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if p in self.started:
            self.started.remove(p)

    def stop_all(self) -> None:
        for p in list(reversed(self.started)):
            self.stop(p, grace=10.0)


def read_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name: [state, ppid, …]."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def process_label(pid: int) -> str:
    """A short name for a measured process: its command line without the program's folder and
    without options and paths (`dmtbs rm 2`, `dmtbs fe 1`, `etcd m1`)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return str(pid)
    if not argv:
        return str(pid)
    words = [Path(argv[0]).name]
    for a in argv[1:]:
        if "/" in a or "-" in a or "=" in a or len(words) >= 3:
            continue
        words.append(a)
    return " ".join(words)


def context_switches(pids: list[int]) -> int:
    """Voluntary and involuntary context switches so far, over every thread of every process
    (`/proc/<pid>/task/<tid>/status`; a thread that ended meanwhile is not counted)."""
    total = 0
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    for line in f:
                        if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                            total += int(line.split()[1])
            except OSError:
                pass
    return total


def pid_alive(pid: int) -> bool:
    stat = read_stat(pid)
    return stat is not None and stat[0] != "Z"


def cpu_ticks(pids: list[int]) -> dict[int, int]:
    out = {}
    for pid in pids:
        stat = read_stat(pid)
        if stat is not None:
            # utime, stime: fields 14 and 15 of stat; here (after "pid (comm)") indexes 11, 12.
            out[pid] = int(stat[11]) + int(stat[12])
    return out


# ---------------------------------------------------------------------------------------------
# HTTP helpers (loopback only).


def http_json(port: int, method: str, path: str, body=None, token: str | None = None,
              timeout: float = 10.0, conn: http.client.HTTPConnection | None = None):
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    headers = {"Host": HOST}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        if own:
            conn.close()
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        value = raw.decode(errors="replace")
    return resp.status, value


def wait_until(what: str, check, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited ({proc.returncode})")
        try:
            if check():
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what}: not ready after {timeout:.0f} s")


# ---------------------------------------------------------------------------------------------
# The workload: the same random bookings for every target.


def show_ids(today: dt.date) -> list[tuple[str, str, str]]:
    """(area, movie, show ID) of the 216 shows: every area, movie and slot, today + 0..7."""
    out = []
    for day in range(8):
        d = today + dt.timedelta(days=day)
        for area in AREAS:
            for movie in MOVIES:
                for slot in SLOTS:
                    out.append((area, movie, f"{area}{slot}{d:%d%m%y}"))
    return out


def customers() -> list[str]:
    return [f"{a}C{n:04d}" for a in AREAS for n in range(1, CUSTOMERS_PER_AREA + 1)]


def bookings(today: dt.date, count: int, seed: int) -> list[tuple[str, str, str, int]]:
    """(customer, movie, show ID, tickets): a random customer books 1–2 tickets on a random show
    of its home area (no weekly limit applies, no show fills: the rules accept every one)."""
    rng = random.Random(seed)
    by_area: dict[str, list[tuple[str, str]]] = {a: [] for a in AREAS}
    for area, movie, show in show_ids(today):
        by_area[area].append((movie, show))
    people = customers()
    out = []
    for _ in range(count):
        c = rng.choice(people)
        movie, show = rng.choice(by_area[c[:3]])
        out.append((c, movie, show, rng.randint(1, 2)))
    return out


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def write_requests(path: Path, lines: list[tuple[str, str, str, str]]) -> None:
    with open(path, "w") as f:
        for method, p, auth, body in lines:
            assert "\t" not in body and "\n" not in body
            f.write(f"{method}\t{p}\t{auth}\t{body}\n")


def dmtbs_requests(work, tokens: dict[str, str]):
    return [
        ("POST", f"/v1/customers/{c}/bookings", f"Bearer {tokens[c]}",
         json.dumps({"movie": m, "showId": s, "tickets": t}, separators=(",", ":")))
        for c, m, s, t in work
    ]


def etcd_put_requests(work):
    return [
        ("POST", "/v3/kv/put", "-",
         json.dumps({"key": b64(f"/booking/{c}/{s}:{m}"),
                     "value": b64(json.dumps({"tickets": t}))}, separators=(",", ":")))
        for c, m, s, t in work
    ]


def etcd_txn_requests(work):
    """compare: the show's seat counter > 0; success: put the counter (the seats left after the
    bookings before this one in the list) and the booking. One etcd transaction per booking: one
    raft entry, two keys; the read a client would do first is not part of it."""
    left: dict[str, int] = {}
    held: dict[tuple[str, str], int] = {}
    out = []
    for c, m, s, t in work:
        show = f"{s}:{m}"
        seats = left.get(show, CAPACITY) - t
        left[show] = seats
        held[(c, show)] = held.get((c, show), 0) + t
        body = {
            "compare": [{"key": b64(f"/seats/{show}"), "target": "VALUE", "result": "GREATER",
                         "value": b64("00000")}],
            "success": [
                {"request_put": {"key": b64(f"/seats/{show}"), "value": b64(f"{max(seats, 1):05d}")}},
                {"request_put": {"key": b64(f"/booking/{c}/{show}"),
                                 "value": b64(json.dumps({"tickets": held[(c, show)]}))}},
            ],
        }
        out.append(("POST", "/v3/kv/txn", "-", json.dumps(body, separators=(",", ":"))))
    return out


# ---------------------------------------------------------------------------------------------
# Targets. Each start_* returns (port, root process, a function stopping it).


def dmtbs_env() -> dict:
    env = dict(os.environ)
    for k in ("DMTBS_PORT_BASE", "DMTBS_RUN_DIR", "DMTBS_URL", "DMTBS_ADMIN_KEY", "DMTBS_TOKEN"):
        env.pop(k, None)
    env["NO_COLOR"] = "1"
    env.setdefault("RUST_LOG", "warn")
    return env


def dmtbs1_config(path: Path) -> None:
    """The embedded default's shape (cluster/src/default.toml) with one RM and quorum 1."""
    b = DMTBS1_BASE
    text = f"""# bench-compare: one replica manager, quorum 1 (the 1-replica baseline).
[cluster]
key = "{secrets.token_hex(32)}"
admin_key = "{secrets.token_hex(16)}"
token_key = "{secrets.token_hex(32)}"
time_zone = "America/Toronto"
transport = "multicast"
multicast_group = "239.255.77.1:{b}"
components = "{REPO / 'replicas-wasm/target/components'}"
quorum = 1

[sequencer]
addr = "127.0.0.1:{b + 1}"
metrics = "127.0.0.1:{b + 2}"

[[frontend]]
id = 1
addr = "127.0.0.1:{b + 11}"
http = "127.0.0.1:{b + 80}"
audit_log = "dmtbs-audit.jsonl"

[[rm]]
id = 1
addr = "127.0.0.1:{b + 21}"
metrics = "127.0.0.1:{b + 31}"
modules = ["replica-a", "replica-b"]
"""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def start_dmtbs(procs: Procs, kind: str, tmp: Path, dmtbs: Path, today: dt.date):
    """dmtbs up in tmp; adds the 216 shows and issues a token for every customer. Returns
    (port, Popen, tokens)."""
    tmp.mkdir(parents=True)
    run_dir = tmp / "run"
    # `dmtbs up`'s default file resolves `components` and the audit log against its working
    # folder: the components through a link to the repository's, the audit log in tmp.
    (tmp / "replicas-wasm").symlink_to(REPO / "replicas-wasm")
    if kind == "dmtbs-4":
        argv = [str(dmtbs), "up", "--port-base", str(DMTBS4_BASE), "--run-dir", str(run_dir)]
        port = DMTBS4_BASE + 80
    else:
        cfg = tmp / "cluster-1.toml"
        dmtbs1_config(cfg)
        argv = [str(dmtbs), "up", "--config", str(cfg), "--run-dir", str(run_dir)]
        port = DMTBS1_BASE + 80
    proc = procs.start(argv, cwd=tmp, log_path=tmp / "up.log", env=dmtbs_env())
    tokdir = run_dir / "tokens"

    def ready():
        if not (tokdir / "VERA0001").exists():
            return False
        status, _ = http_json(port, "GET", "/healthz", timeout=2)
        return status == 200

    wait_until(f"{kind}: dmtbs up", ready, 120, proc)
    with open(run_dir / "cluster.toml", "rb") as f:
        admin_key = tomllib.load(f)["cluster"]["admin_key"]
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        admins = {a: (tokdir / f"{a}A0001").read_text().split()[0] for a in AREAS}
        for area, movie, show in show_ids(today):
            status, body = http_json(port, "POST", "/v1/shows",
                                     {"movie": movie, "showId": show, "capacity": CAPACITY},
                                     token=admins[area], conn=conn)
            if status not in (200, 201):
                raise RuntimeError(f"{kind}: adding {movie} {show}: {status} {body}")
        tokens = {}
        for c in customers():
            status, body = http_json(port, "POST", "/v1/tokens",
                                     {"user": c, "ttlSeconds": 86400}, token=admin_key, conn=conn)
            if status != 201:
                raise RuntimeError(f"{kind}: issuing {c}'s token: {status} {body}")
            tokens[c] = body["token"]
    finally:
        conn.close()
    return port, proc, tokens


def start_etcd(procs: Procs, tmp: Path, etcd: str):
    """Three members on loopback, each with its own data dir; returns (leader's client port,
    [Popen…])."""
    tmp.mkdir(parents=True)
    names = ["m1", "m2", "m3"]
    client = {n: ETCD_BASE + 10 * (i + 1) + 1 for i, n in enumerate(names)}
    peer = {n: ETCD_BASE + 10 * (i + 1) + 2 for i, n in enumerate(names)}
    initial = ",".join(f"{n}=http://{HOST}:{peer[n]}" for n in names)
    token = "bench-" + secrets.token_hex(6)
    ps = []
    for n in names:
        argv = [
            etcd, "--name", n, "--data-dir", str(tmp / n),
            "--listen-client-urls", f"http://{HOST}:{client[n]}",
            "--advertise-client-urls", f"http://{HOST}:{client[n]}",
            "--listen-peer-urls", f"http://{HOST}:{peer[n]}",
            "--initial-advertise-peer-urls", f"http://{HOST}:{peer[n]}",
            "--initial-cluster", initial, "--initial-cluster-token", token,
            "--initial-cluster-state", "new",
            "--logger", "zap", "--log-level", "warn",
        ]
        ps.append(procs.start(argv, cwd=tmp, log_path=tmp / f"{n}.log"))

    def healthy():
        for n in names:
            status, body = http_json(client[n], "GET", "/health", timeout=2)
            if status != 200 or not isinstance(body, dict) or body.get("health") != "true":
                return False
        return True

    for p in ps:
        wait_until("etcd", healthy, 60, p)
    # Writes go to the leader (etcd's best case: no forwarding hop).
    leader_port = None
    for n in names:
        status, body = http_json(client[n], "POST", "/v3/maintenance/status", {})
        if status == 200 and body["header"]["member_id"] == body["leader"]:
            leader_port = client[n]
    if leader_port is None:
        raise RuntimeError("etcd: no leader found")
    return leader_port, ps


# ---------------------------------------------------------------------------------------------
# One timed run.


def wrk(procs: Procs, port: int, reqfile: Path, conns: int, seconds: float, threads: int,
        log_path: Path) -> dict:
    argv = ["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{seconds:g}s",
            "--timeout", "10s", "-s", str(LUA), f"http://{HOST}:{port}/", "--",
            str(reqfile), str(threads)]
    with open(log_path, "ab") as out:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=out, start_new_session=True)
    procs.adopt(p)
    try:
        stdout, _ = p.communicate(timeout=seconds + 60)
    finally:
        procs.stop(p)
    text = stdout.decode(errors="replace")
    with open(log_path, "a") as f:
        f.write(text)
    for line in text.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    raise RuntimeError(f"wrk gave no result (exit {p.returncode}); see {log_path}")


def measure(procs: Procs, roots: list[int], port: int, reqfile: Path, conns: int, args,
            log_path: Path, label: str, rnd: int = 0) -> dict:
    if args.warmup > 0:
        wrk(procs, port, reqfile, conns, args.warmup, args.threads, log_path)
    before_pids = [pid for r in roots for pid in procs.tree(r)]
    before = cpu_ticks(before_pids)
    switches_before = context_switches(before_pids)
    profilers = start_profiles(before_pids, args, label, conns, rnd) if args.perf else []
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = wrk(procs, port, reqfile, conns, args.seconds, args.threads, log_path)
    stop_profiles(profilers)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    after_pids = [pid for r in roots for pid in procs.tree(r)]
    after = cpu_ticks(after_pids)
    switches = context_switches(after_pids) - switches_before
    ticks = sum(v - before.get(pid, 0) for pid, v in after.items())
    n_ = res["requests"] or 1
    by_process = {}
    for pid, v in after.items():
        name = process_label(pid)
        by_process[name] = by_process.get(name, 0) + (v - before.get(pid, 0)) * 1e6 / CLK_TCK / n_
    gone = sorted(set(before) - set(after))
    new = sorted(set(after) - set(before))
    n = res["requests"]
    errors = sum(res["errors"].values())
    wrk_cpu_s = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    row = {
        "requests": n,
        "errors": res["errors"],
        "rps": n / (res["duration_us"] / 1e6),
        "p50_ms": res["latency_us"]["p50"] / 1000,
        "p90_ms": res["latency_us"]["p90"] / 1000,
        "p99_ms": res["latency_us"]["p99"] / 1000,
        "max_ms": res["latency_us"]["max"] / 1000,
        "cpu_us_per_req": ticks * 1e6 / CLK_TCK / n if n else float("nan"),
        "wrk_cpu_us_per_req": wrk_cpu_s * 1e6 / n if n else float("nan"),
        "cpu_us_per_req_by_process": by_process,
        "context_switches_per_req": switches / n if n else float("nan"),
        "processes": len(after),
        "processes_gone": gone,
        "processes_new": new,
    }
    log(f"  {label}, {conns} conns: {row['rps']:.0f} req/s, p50 {row['p50_ms']:.2f} "
        f"p90 {row['p90_ms']:.2f} p99 {row['p99_ms']:.2f} ms, {row['cpu_us_per_req']:.0f} µs CPU/req "
        f"({len(after)} processes), {row['context_switches_per_req']:.1f} context switches/req, "
        f"wrk {row['wrk_cpu_us_per_req']:.0f} µs/req, {errors} errors")
    log("    CPU µs/req by process: " + ", ".join(
        f"{k} {v:.0f}" for k, v in sorted(by_process.items(), key=lambda kv: -kv[1])))
    if errors:
        log(f"  WARNING: {label}: errors {res['errors']} (status = non-2xx answers)")
    if gone or new:
        log(f"  WARNING: {label}: processes exited {gone} / started {new} during the run")
    return row


def start_profiles(pids: list[int], args, label: str, conns: int, rnd: int) -> list:
    """`perf record` of every process of the target for the timed run (with --perf): one file
    per process, named after the target, the connections, the round and the process."""
    out = []
    args.perf.mkdir(parents=True, exist_ok=True)
    for pid in pids:
        name = process_label(pid)
        if name.startswith("dmtbs up"):
            continue  # the supervisor only waits
        slug = "-".join(name.split())
        data = args.perf / f"{label}-c{conns}-r{rnd}-{slug}.perf.data"
        argv = ["perf", "record", "-q", "-F", str(args.perf_hz), "--call-graph", "dwarf,16384",
                "-p", str(pid), "-o", str(data)]
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append((p, data))
    time.sleep(0.5)  # perf attaches before the timed run starts
    return out


def stop_profiles(profilers: list) -> None:
    for p, _ in profilers:
        p.send_signal(signal.SIGINT)
    for p, data in profilers:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        fold(data)


def fold(data: Path) -> None:
    """perf data → folded stacks (`.folded`) and, where inferno is installed, a flame graph
    (`.svg`), next to it."""
    folded = data.with_suffix("").with_suffix(".folded")
    collapse = shutil.which("inferno-collapse-perf")
    flame = shutil.which("inferno-flamegraph")
    if collapse is None:
        log(f"  {data}: recorded (inferno-collapse-perf missing: no flame graph)")
        return
    script = subprocess.run(["perf", "script", "--no-inline", "-i", str(data)], capture_output=True)
    stacks = subprocess.run([collapse], input=script.stdout, capture_output=True)
    folded.write_bytes(stacks.stdout)
    if flame is not None:
        svg = subprocess.run([flame, "--title", data.name.removesuffix(".perf.data")],
                             input=stacks.stdout, capture_output=True)
        folded.with_suffix(".svg").write_bytes(svg.stdout)
    log(f"  profile: {folded}")


def check_first(port: int, lines, what: str, k: int = 3) -> None:
    """Sends the first k requests of the list (as wrk will) and checks they succeed — so a
    request list the target refuses never gets timed. They are replayed by wrk afterwards."""
    for method, path, auth, body in lines[:k]:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        headers = {"Host": HOST, "Content-Type": "application/json"}
        if auth != "-":
            headers["Authorization"] = auth
        conn.request(method, path, body=body.encode(), headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        ok = resp.status == 200
        if ok and path == "/v3/kv/txn":
            ok = json.loads(raw).get("succeeded") is True
        if not ok:
            raise RuntimeError(f"{what}: a request of the list failed: {resp.status} {raw[:300]!r}")


# ---------------------------------------------------------------------------------------------


def run_target(procs: Procs, target: str, conns: int, rnd: int, args, base: Path, work,
               today: dt.date, results: dict) -> None:
    tmp = base / f"r{rnd}-{target}-c{conns}"
    log(f"round {rnd}: {target}, {conns} connections ({tmp})")
    started: list[subprocess.Popen] = []
    try:
        if target.startswith("dmtbs"):
            port, proc, tokens = start_dmtbs(procs, target, tmp, args.dmtbs, today)
            started.append(proc)
            reqfile = tmp / "requests.tsv"
            lines = dmtbs_requests(work, tokens)
            write_requests(reqfile, lines)
            check_first(port, lines, target)
            row = measure(procs, [proc.pid], port, reqfile, conns, args, tmp / "wrk.log", target,
                          rnd)
            results.setdefault((target, conns), []).append(row)
            if target == "dmtbs-4" and not args.no_http_baseline:
                hfile = tmp / "healthz.tsv"
                write_requests(hfile, [("GET", "/healthz", "-", "-")] * args.threads)
                row = measure(procs, [proc.pid], port, hfile, conns, args, tmp / "wrk-http.log",
                              "http")
                results.setdefault(("http", conns), []).append(row)
        else:
            port, ps = start_etcd(procs, tmp, args.etcd)
            started.extend(ps)
            if target == "etcd-txn":
                for _, movie, show in show_ids(today):
                    status, body = http_json(port, "POST", "/v3/kv/put", {
                        "key": b64(f"/seats/{show}:{movie}"), "value": b64(f"{CAPACITY:05d}")})
                    if status != 200:
                        raise RuntimeError(f"etcd: setting a seat counter: {status} {body}")
                lines = etcd_txn_requests(work)
            else:
                lines = etcd_put_requests(work)
            reqfile = tmp / "requests.tsv"
            write_requests(reqfile, lines)
            check_first(port, lines, target)
            row = measure(procs, [p.pid for p in ps], port, reqfile, conns, args,
                          tmp / "wrk.log", target, rnd)
            results.setdefault((target, conns), []).append(row)
    finally:
        for p in reversed(started):
            procs.stop(p)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        time.sleep(1)


def fmt(values: list[float], digits: int) -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:,.{digits}f}"
    return f"{med:,.{digits}f} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


def report(results: dict, conn_list: list[int], rounds: int) -> str:
    out = []
    out.append(f"Medians over {rounds} round(s), (min–max) across rounds.\n")
    out.append("| target | connections | req/s | p50 ms | p90 ms | p99 ms | CPU µs/req | "
               "context switches/req |")
    out.append("|---|---|---|---|---|---|---|---|")
    for t in ROW_ORDER:
        for c in conn_list:
            rows = results.get((t, c))
            if not rows:
                continue
            out.append(
                f"| {LABELS[t]} | {c} | {fmt([r['rps'] for r in rows], 0)} | "
                f"{fmt([r['p50_ms'] for r in rows], 2)} | {fmt([r['p90_ms'] for r in rows], 2)} | "
                f"{fmt([r['p99_ms'] for r in rows], 2)} | "
                f"{fmt([r['cpu_us_per_req'] for r in rows], 0)} | "
                f"{fmt([r.get('context_switches_per_req', float('nan')) for r in rows], 1)} |")
    out.append("\nCPU µs per request by process (median over the rounds):\n")
    out.append("| target | connections | process: µs/req |")
    out.append("|---|---|---|")
    for (t, c), rows in sorted(results.items()):
        names = sorted({n for r in rows for n in r.get("cpu_us_per_req_by_process", {})})
        cells = []
        for n in names:
            vals = sorted(r["cpu_us_per_req_by_process"].get(n, 0.0) for r in rows)
            cells.append(f"{n} {vals[len(vals) // 2]:.0f}")
        out.append(f"| {LABELS[t]} | {c} | " + ", ".join(cells) + " |")
    errs = {k: sum(sum(r["errors"].values()) for r in v) for k, v in results.items()}
    if any(errs.values()):
        out.append("\nErrors (wrk: connect/read/write/timeout, and non-2xx answers): " + ", ".join(
            f"{LABELS[t]} @{c}: {n}" for (t, c), n in sorted(errs.items()) if n))
    ratios = [
        ("DMTBS-4 ÷ DMTBS-1 throughput", "dmtbs-4", "dmtbs-1", "rps"),
        ("DMTBS-4 ÷ etcd txn throughput", "dmtbs-4", "etcd-txn", "rps"),
        ("DMTBS-4 p99 ÷ etcd put p99", "dmtbs-4", "etcd-put", "p99_ms"),
        ("DMTBS-4 p50 ÷ bare HTTP p50", "dmtbs-4", "http", "p50_ms"),
        ("DMTBS-4 ÷ etcd txn CPU per request", "dmtbs-4", "etcd-txn", "cpu_us_per_req"),
    ]
    out.append("\nRatios (within each round, then the median; min–max across rounds):\n")
    out.append("| ratio | " + " | ".join(f"{c} connections" for c in conn_list) + " |")
    out.append("|---|" + "---|" * len(conn_list))
    for name, a, b, key in ratios:
        cells = []
        for c in conn_list:
            ra, rb = results.get((a, c), []), results.get((b, c), [])
            vals = [x[key] / y[key] for x, y in zip(ra, rb) if y[key]]
            cells.append(fmt(vals, 2) if vals else "—")
        if any(cell != "—" for cell in cells):
            out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--connections", default="8,32", help="comma-separated, e.g. 8,32")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--warmup", type=float, default=2,
                    help="seconds of untimed load before each timed run (default 2; 0: none)")
    ap.add_argument("--targets", default=",".join(TARGETS),
                    help="comma-separated subset of " + ",".join(TARGETS))
    ap.add_argument("--no-http-baseline", action="store_true",
                    help="skip the GET /healthz run on the 4-replica cluster")
    ap.add_argument("--requests", type=int, default=120_000,
                    help="bookings in the list every target replays (cycled)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dmtbs", type=Path, default=REPO / "target/release/dmtbs")
    ap.add_argument("--etcd", default=shutil.which("etcd") or "etcd")
    ap.add_argument("--tmp", type=Path, default=None, help="parent of the temporary directory")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    ap.add_argument("--json", type=Path, default=None, help="also write every run here")
    ap.add_argument("--perf", type=Path, default=None,
                    help="profile every process of every timed run with `perf record` into this "
                         "folder (folded stacks and flame graphs where inferno is installed)")
    ap.add_argument("--perf-hz", type=int, default=199, help="perf sampling rate (default 199)")
    args = ap.parse_args()
    if args.perf is not None and shutil.which("perf") is None:
        ap.error("perf is missing (apt-get install linux-perf)")

    conn_list = [int(c) for c in args.connections.split(",") if c.strip()]
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    for t in targets:
        if t not in TARGETS:
            ap.error(f"unknown target {t}")
    if any(c < args.threads for c in conn_list):
        ap.error("every connection count must be at least --threads")
    if any(t.startswith("dmtbs") for t in targets) and not args.dmtbs.exists():
        ap.error(f"{args.dmtbs} is missing: cargo build --release -p dmtbs-cli")
    if shutil.which("wrk") is None:
        ap.error("wrk is missing (apt-get install wrk)")
    if any(t.startswith("etcd") for t in targets) and shutil.which(args.etcd) is None:
        ap.error("etcd is missing (apt-get install etcd-server)")

    def on_term(signum, frame):
        raise Stopped()

    # Also when started in the background (where SIGINT may be inherited as ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    today = dt.datetime.now(zoneinfo.ZoneInfo("America/Toronto")).date()
    work = bookings(today, args.requests, args.seed)
    base = Path(tempfile.mkdtemp(prefix="dmtbs-bench-compare-", dir=args.tmp))
    procs = Procs()
    results: dict = {}
    log(f"{len(targets)} targets × {conn_list} connections × {args.rounds} rounds of "
        f"{args.seconds:g} s; wrk -t {args.threads}; work in {base}")
    load = os.getloadavg()
    log(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} CPUs")
    rc = 0
    try:
        for rnd in range(1, args.rounds + 1):
            # Interleaved: every target once per round, the order rotated from round to round.
            k = (rnd - 1) % len(targets)
            for target in targets[k:] + targets[:k]:
                for conns in conn_list:
                    run_target(procs, target, conns, rnd, args, base, work, today, results)
    except (KeyboardInterrupt, Stopped):
        log("interrupted: stopping every process started")
        rc = 130
    except Exception as e:  # noqa: BLE001 — report, clean up, exit non-zero
        log(f"error: {e}")
        rc = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            log(f"logs kept in {base}")
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    load = os.getloadavg()
    log(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if results:
        print(report(results, conn_list, args.rounds))
    if args.json:
        args.json.write_text(json.dumps(
            [{"target": t, "connections": c, "round": i + 1, **r}
             for (t, c), rows in sorted(results.items()) for i, r in enumerate(rows)], indent=1))
    return rc


if __name__ == "__main__":
    sys.exit(main())
