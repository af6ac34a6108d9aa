#!/usr/bin/env python3
"""Load-test `food-classifier serve` the lab's way: siege over a concurrency sweep on loopback.

For each concurrency (default 1, 4, 16, 64) a fresh server is started on 127.0.0.1 (so the
server-side percentiles belong to that level alone), siege requests GET /test (the lab's readiness
endpoint: the server decodes, preprocesses and classifies its bundled photo, www/samples/rice.jpg,
and answers in the lab's text format) with no delay between requests for a fixed time, and the
script records siege's availability, response time and transaction rate plus the server's own
/api/stats.

Why GET /test and not POST /predict: siege 4.0.7 (Debian) reads a POST body file as a C string, so a
JPEG is cut at its first zero byte (a 26 KB upload arrives as ~100 bytes) and every request would be
a 415. /test runs the same decode + preprocess + inference on a real photo; only the 26 KB upload
over loopback is missing.

    python3 scripts/loadtest.py                 # 20 s per level, writes www/data/loadtest.json
    python3 scripts/loadtest.py --quick         # 3 s per level (CI smoke run)

Needs siege (Debian: apt-get install -y siege) and a built binary (cargo build --release).
Loopback only; every siege run is bounded by --duration and a hard timeout.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The lab's single-replica figures (Flask + Keras on one pod; ../shared/context/server-models.json).
LAB_SINGLE_REPLICA = {"response_time_s": [1.08, 1.17], "transaction_rate": [7.21, 7.71]}

ABOUT = (
    "Load test of `food-classifier serve` with siege, one fresh server per concurrency level, "
    "requesting GET /test (the server classifies its bundled photo rice.jpg; siege 4.0.7 truncates binary "
    "POST bodies at the first zero byte, so a multipart JPEG upload cannot be sieged) with no delay between requests. "
    "Per level: availability_pct = successful / all transactions * 100 (siege); response_time_s = "
    "siege's mean response time of a transaction; transaction_rate = transactions per second of "
    "elapsed time (siege); successful/failed = siege's counts; server = the server's /api/stats "
    "after the run (latency_ms p50/p90/p99 measured inside the server, busy_rejections = 503s) and its peak resident memory (peak_rss_mb). "
    "summary: the same three figures over all levels, response time weighted by successful "
    "transactions as the lab computed it. lab_single_replica: the lab's Flask app on one pod."
)


def start_server(binary, site, workers):
    args = [str(binary), "serve", "--port", "0", "--dir", str(site)]
    if workers:
        args += ["--workers", str(workers)]
    server = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = server.stdout.readline().strip()
    prefix = "listening on "
    if not line.startswith(prefix):
        server.kill()
        sys.exit(f"server did not start: {line!r}")
    return server, line[len(prefix):]


def stop_server(server):
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def peak_rss(pid):
    """The server's peak resident memory in MB (Linux /proc), or None elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def fetch_json(url):
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.load(reply)


def run_siege(url, concurrency, duration, home):
    command = [
        "siege", "--benchmark", "--quiet", "--json-output",
        f"--concurrent={concurrency}", f"--time={duration}S",
        f"--log={home / 'siege.log'}",
        f"{url}/test",
    ]
    # siege writes its config and cookies under $HOME/.siege: keep them in the scratch folder.
    (home / ".siege").mkdir(exist_ok=True)
    env = dict(os.environ, HOME=str(home))
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=duration + 60)
    start = done.stdout.find("{")
    if done.returncode != 0 or start < 0:
        sys.exit(f"siege failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    report, _ = json.JSONDecoder().raw_decode(done.stdout[start:])
    return report


def level(binary, site, concurrency, duration, workers, home):
    server, url = start_server(binary, site, workers)
    try:
        fetch_json(f"{url}/api/stats")  # ready
        siege = run_siege(url, concurrency, duration, home)
        stats = fetch_json(f"{url}/api/stats")
        peak_rss_mb = peak_rss(server.pid)
    finally:
        stop_server(server)
    return {
        "concurrency": concurrency,
        "availability_pct": siege["availability"],
        "response_time_s": siege["response_time"],
        "transaction_rate": siege["transaction_rate"],
        "transactions": siege["transactions"],
        "successful": siege["successful_transactions"],
        "failed": siege["failed_transactions"],
        "elapsed_s": siege["elapsed_time"],
        "longest_s": siege["longest_transaction"],
        "server": {
            "requests": stats["requests"],
            "errors": stats["errors"],
            "busy_rejections": stats["busy_rejections"],
            "latency_ms": stats["latency_ms"],
            "peak_rss_mb": peak_rss_mb,
        },
    }


def siege_version():
    done = subprocess.run(["siege", "--version"], capture_output=True, text=True)
    return (done.stdout + done.stderr).strip().splitlines()[0]


def summary(levels):
    ok = sum(l["successful"] for l in levels)
    total = sum(l["transactions"] + l["failed"] for l in levels)
    elapsed = sum(l["elapsed_s"] for l in levels)
    return {
        "availability_pct": round(100.0 * ok / total, 2) if total else None,
        "response_time_s": round(sum(l["response_time_s"] * l["successful"] for l in levels) / ok, 4) if ok else None,
        "transaction_rate": round(sum(l["transactions"] for l in levels) / elapsed, 2) if elapsed else None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", type=Path, default=ROOT / "target/release/food-classifier")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--duration", type=int, default=20, help="seconds per level (default 20)")
    parser.add_argument("--quick", action="store_true", help="3 s per level, for CI")
    parser.add_argument("--workers", type=int, help="passed to serve (default: one per core)")
    parser.add_argument("--note", default="", help="free text about the machine, stored in the JSON")
    parser.add_argument("--out", type=Path, default=ROOT / "www/data/loadtest.json")
    args = parser.parse_args()
    duration = 3 if args.quick else args.duration
    if not args.binary.exists():
        sys.exit(f"{args.binary} not found; build it with `cargo build --release`")

    with tempfile.TemporaryDirectory(prefix="loadtest-") as scratch:
        scratch = Path(scratch)
        site = scratch / "site"
        site.mkdir()
        levels = []
        for concurrency in args.concurrency:
            result = level(args.binary, site, concurrency, duration, args.workers, scratch)
            levels.append(result)
            print(
                f"c={concurrency:>3}  availability {result['availability_pct']:6.2f} %  "
                f"response {result['response_time_s']:.3f} s  rate {result['transaction_rate']:8.2f} trans/s  "
                f"(server p50 {result['server']['latency_ms']['p50']} ms)",
                flush=True,
            )

    report = {
        "about": ABOUT,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tool": siege_version(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "note": args.note},
        "request": "GET /test (bundled photo www/samples/rice.jpg, decoded and classified per request)",
        "duration_s": duration,
        "levels": levels,
        "summary": summary(levels),
        "lab_single_replica": LAB_SINGLE_REPLICA,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
