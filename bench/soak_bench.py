#!/usr/bin/env python3
"""Soak under faults with default flags: every request answered once and recorded once, nothing growing.

    bench/soak_bench.py [--baton .build/release/baton] [--minutes 8] [--clients 8] [--workers 4]

`baton serve` with WORKERS example workers and default flags (history on, default retention), `baton bench`
with CLIENTS clients for MINUTES minutes (every reply checked), a `baton reload` every 60 s and a kill -9 of
one worker (round-robin over the slots) every 20 s. Every 10 s it samples the supervisor's RSS, open
descriptors and threads, and the database's size from `baton status`. At the end it stops serve with SIGTERM
and counts the rows: requests sent = replies received (answers and BATON-ERR) = request rows (plus those
retention removed), none open.
"""
import argparse
import json
import os
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time


def status(baton, state):
    out = subprocess.run([baton, "status", "--state-dir", state, "--json"], capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 and out.stdout.startswith("{") else None


def proc_sample(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return {"rss_mib": round(int(fields["VmRSS"].split()[0]) / 1024, 1), "threads": int(fields["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--baton", default=".build/release/baton")
    parser.add_argument("--minutes", type=float, default=8)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    baton = args.baton
    duration = int(args.minutes * 60)
    with tempfile.TemporaryDirectory(prefix="bsk-", dir="/tmp") as tmp:
        state = f"{tmp}/state"
        fe = f"ipc://{tmp}/fe"
        log = open(f"{tmp}/serve.log", "w")
        serve = subprocess.Popen([baton, "serve", "--frontend", fe, "--state-dir", state,
                                  "--workers", str(args.workers)], stderr=log)
        deadline = time.time() + 60
        while time.time() < deadline:
            s = status(baton, state)
            if s and len(s["slots"]) == args.workers and all(x["state"] == "ready" for x in s["slots"]):
                break
            time.sleep(0.1)
        bench = subprocess.Popen([baton, "bench", "--frontend", fe, "--clients", str(args.clients), "--duration",
                                  str(duration), "--warmup", "0", "--json"], stdout=subprocess.PIPE, text=True)
        start = time.time()
        samples, kills, reloads = [], 0, []
        next_kill, next_reload, next_sample = 20, 60, 0
        reload_threads = []

        def reload():
            r = subprocess.run([baton, "reload", "--state-dir", state], capture_output=True, text=True)
            reloads.append(r.returncode)

        while time.time() - start < duration:
            elapsed = time.time() - start
            if elapsed >= next_sample:
                s = status(baton, state) or {}
                history = s.get("history") or {}
                sample = {"t": int(elapsed), **proc_sample(serve.pid),
                          "db_file_mib": round((history.get("fileBytes") or 0) / 2**20, 1),
                          "db_used_mib": round((history.get("usedBytes") or 0) / 2**20, 1),
                          "history": history.get("state"), "waiting": history.get("waitingEvents"),
                          "requests": s.get("broker", {}).get("requestsReceived")}
                samples.append(sample)
                print(json.dumps(sample), flush=True)
                next_sample += 10
            if elapsed >= next_kill:
                s = status(baton, state)
                slots = [x for x in (s or {}).get("slots", []) if x.get("pid")]
                if slots:
                    victim = slots[kills % len(slots)]
                    try:
                        os.kill(victim["pid"], signal.SIGKILL)
                        kills += 1
                    except ProcessLookupError:
                        pass
                next_kill += 20
            if elapsed >= next_reload:
                t = threading.Thread(target=reload)
                t.start()
                reload_threads.append(t)
                next_reload += 60
            time.sleep(0.2)
        report = json.loads(bench.communicate()[0])
        for t in reload_threads:
            t.join()
        final = status(baton, state) or {}
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=120)
        db = sqlite3.connect(f"{state}/baton.sqlite")
        rows = db.execute("SELECT count(*) FROM request").fetchone()[0]
        by_status = dict(db.execute("SELECT status, count(*) FROM request GROUP BY status").fetchall())
        errors = sum(report["errors"].values())
        result = {
            "sent": report["sent"], "replies": report["matched"] + errors, "errors": report["errors"],
            "lost": report["lost"], "mismatched": report["mismatched"], "rows": rows, "rows_by_status": by_status,
            "rows_plus_pruned": rows + (final.get("history") or {}).get("prunedRows", 0),
            "throughput_rps": round(report["throughput"]), "p99_us": report["p99"],
            "kills": kills, "reloads": reloads, "serve_exit": serve.returncode,
            "history_final": {k: final.get("history", {}).get(k) for k in
                              ("state", "droppedEvents", "failedBatches", "lostEvents", "prunedRows", "maxBacklog")},
            "rss_mib_first_last_max": [samples[1]["rss_mib"], samples[-1]["rss_mib"], max(x["rss_mib"] for x in samples)],
            "fds_first_last_max": [samples[1]["fds"], samples[-1]["fds"], max(x["fds"] for x in samples)],
            "db_file_mib_last": samples[-1]["db_file_mib"], "db_used_mib_last": samples[-1]["db_used_mib"],
            "file_bytes_after_stop": os.path.getsize(f"{state}/baton.sqlite"),
        }
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
