#!/usr/bin/env python3
"""Measures a rolling reload under load: wall time, latency before vs during, errors, losses, queue depth.

    bench/reload_bench.py [--baton .build/release/baton] [--work-ms 1] [--clients 16]

For 4 and 16 workers (surge 1), and for 1 worker with --surge 0: start `baton serve` with the example
worker, run `baton bench` (CLIENTS clients, one request in flight each, every reply checked) for 9 s,
reload after 3 s, and read every request's timing back from the history database. "Before" is requests
received before the reload started, "during" those received while it ran.
"""
import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import tempfile
import time


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run(baton, worker, workers, surge, clients, work_ms):
    with tempfile.TemporaryDirectory(prefix="brl-", dir="/tmp") as tmp:
        state = f"{tmp}/state"
        fe = f"ipc://{tmp}/fe"
        serve = subprocess.Popen([baton, "serve", "--frontend", fe, "--state-dir", state, "--workers", str(workers),
                                  "--log-level", "warning", "--", worker, "--work-ms", str(work_ms)],
                                 stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            out = subprocess.run([baton, "status", "--state-dir", state, "--json"], capture_output=True, text=True)
            if out.returncode == 0:
                slots = json.loads(out.stdout)["slots"]
                if len(slots) == workers and all(s["state"] == "ready" for s in slots):
                    break
            time.sleep(0.1)
        bench = subprocess.Popen([baton, "bench", "--frontend", fe, "--clients", str(clients), "--duration", "9",
                                  "--warmup", "0", "--json"], stdout=subprocess.PIPE, text=True)
        time.sleep(3)
        t0 = time.time()
        reload = subprocess.run([baton, "reload", "--state-dir", state, "--surge", str(surge)],
                                capture_output=True, text=True)
        wall = time.time() - t0
        report = json.loads(bench.communicate()[0])
        status = json.loads(subprocess.run([baton, "status", "--state-dir", state, "--json"], capture_output=True,
                                           text=True).stdout)
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
        db = sqlite3.connect(f"{state}/baton.sqlite")
        started = db.execute("SELECT at FROM event WHERE kind = 'reload-started'").fetchone()[0]
        finished = db.execute("SELECT at FROM event WHERE kind IN ('reload-finished', 'reload-rolled-back')").fetchone()[0]
        before = [r[0] for r in db.execute(
            "SELECT total_us FROM request WHERE status = 'replied' AND received_at < ?", (started,))]
        during = [r[0] for r in db.execute(
            "SELECT total_us FROM request WHERE status = 'replied' AND received_at BETWEEN ? AND ?", (started, finished))]
        by_generation = dict(db.execute("SELECT generation, count(*) FROM request GROUP BY generation").fetchall())
        return {
            "workers": workers, "surge": surge, "reload_exit": reload.returncode, "reload_wall_s": round(wall, 2),
            "before_p50_ms": round(percentile(before, 0.5) / 1000, 2),
            "before_p99_ms": round(percentile(before, 0.99) / 1000, 2),
            "during_p50_ms": round(percentile(during, 0.5) / 1000, 2),
            "during_p99_ms": round(percentile(during, 0.99) / 1000, 2),
            "during_max_ms": round(max(during) / 1000, 1) if during else None,
            "requests": report["sent"], "errors": sum(report["errors"].values()), "lost": report["lost"],
            "mismatched": report["mismatched"], "peak_queue_depth": status["broker"]["maxQueueDepth"],
            "requests_by_generation": by_generation,
        }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--baton", default=".build/release/baton")
    parser.add_argument("--work-ms", type=int, default=1)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    worker = os.path.join(os.path.dirname(args.baton), "baton-example-worker")
    for workers, surge in [(4, 1), (16, 1), (1, 0)]:
        print(json.dumps(run(args.baton, worker, workers, surge, args.clients, args.work_ms)), flush=True)


if __name__ == "__main__":
    main()
