#!/usr/bin/env python3
"""Soak under chaos with default flags: every request answered once and recorded once, nothing growing.

    bench/soak_bench.py [--baton .build/release/baton] [--duration 1800] [--clients 4] [--workers 4]
                        [--keys 20] [--kill-every 10] [--reload-every 60] [--stop-every 30]

`baton serve` with WORKERS example workers counting sessions (`--session-counter`, which hands sessions off
on a reload) and default flags (history on, default retention), plus `--metrics` on a free loopback port.
For DURATION seconds, at once:

- `baton bench` with CLIENTS steady clients (every reply checked);
- a session client (Tests/peers/session_client.py) keeping one request in flight on each of KEYS sessions,
  checking each session's count across handoffs;
- a client that sends a burst of requests every 15 s and never reads a reply;
- a slowloris on the metrics port (40 connections, one byte a second, reopened as they are closed), while a
  probe GETs /healthz every 5 s;
- chaos: kill -9 of one worker (round-robin over the slots) every KILL_EVERY s, `baton reload` every
  RELOAD_EVERY s, a SIGSTOP of one worker every STOP_EVERY s (every other one gets SIGCONT after 2 s, the
  others stay stopped until the broker drops them as silent and the supervisor kills them).

Every 10 s it samples the supervisor's RSS, descriptors and threads and prints them. At the end it stops the
clients and the chaos, lets the metrics server's connections time out, takes a quiet sample, stops serve with
SIGTERM and counts the history rows. It prints one JSON report and exits 1 if a check fails:

- requests sent by the reading clients = replies they received; none silent (sent and never answered);
- no session count broken (a gap or a reset without `session-lost`);
- history rows + rows pruned by retention = requests the broker received = requests all clients sent;
  no row left open after the stop;
- every /healthz probe answered; serve exited 0 after SIGTERM;
- descriptors after the quiet period no more than 8 above the sample before the chaos.
"""
import argparse
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
SESSION_CLIENT = os.path.join(HERE, "..", "Tests", "peers", "session_client.py")


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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NonReader(threading.Thread):
    """A DEALER client that sends a burst of requests every 15 s and never reads a reply."""

    def __init__(self, frontend, stop, burst=500):
        super().__init__(daemon=True)
        self.frontend, self.stop, self.burst, self.sent = frontend, stop, burst, 0

    def run(self):
        context = zmq.Context()
        client = context.socket(zmq.DEALER)
        client.setsockopt(zmq.SNDTIMEO, 1000)
        client.connect(self.frontend)
        while not self.stop.is_set():
            for index in range(self.burst):
                try:
                    client.send_multipart([b"", f"never-read-{self.sent}".encode()])
                    self.sent += 1
                except zmq.Again:
                    break
            self.stop.wait(15)
        # Everything it sent reaches the broker before it goes (the rows check counts them).
        client.setsockopt(zmq.LINGER, 30000)
        client.close()
        context.term()


class Slowloris(threading.Thread):
    """Holds CONNECTIONS connections to the metrics port, sending one byte of a request head a second."""

    def __init__(self, port, stop, connections=40):
        super().__init__(daemon=True)
        self.port, self.stop, self.connections, self.opened, self.closed_by_server = port, stop, connections, 0, 0

    def run(self):
        open_sockets = []
        while not self.stop.is_set():
            while len(open_sockets) < self.connections:
                s = socket.socket()
                s.settimeout(2)
                try:
                    s.connect(("127.0.0.1", self.port))
                    s.sendall(b"G")
                    open_sockets.append(s)
                    self.opened += 1
                except OSError:
                    s.close()
                    break
            kept = []
            for s in open_sockets:
                try:
                    s.sendall(b"E")
                    kept.append(s)
                except OSError:
                    self.closed_by_server += 1
                    s.close()
            open_sockets = kept
            self.stop.wait(1)
        for s in open_sockets:
            s.close()


class Prober(threading.Thread):
    """GETs /healthz every 5 s and records whether and how fast it was answered."""

    def __init__(self, port, stop):
        super().__init__(daemon=True)
        self.port, self.stop, self.ok, self.failed, self.max_s = port, stop, 0, 0, 0.0

    def run(self):
        while not self.stop.wait(5):
            started = time.monotonic()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=20) as r:
                    r.read()
                self.ok += 1
            except OSError:
                self.failed += 1
            self.max_s = max(self.max_s, time.monotonic() - started)


def worker_pids(baton, state):
    return [x["pid"] for x in (status(baton, state) or {}).get("slots", []) if x.get("pid")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--baton", default=".build/release/baton")
    parser.add_argument("--duration", type=int, default=1800, help="seconds")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--kill-every", type=float, default=10)
    parser.add_argument("--reload-every", type=float, default=60)
    parser.add_argument("--stop-every", type=float, default=30)
    args = parser.parse_args()
    baton = os.path.abspath(args.baton)
    worker = os.path.join(os.path.dirname(baton), "baton-example-worker")
    duration = args.duration
    with tempfile.TemporaryDirectory(prefix="bsk-", dir="/tmp") as tmp:
        state = f"{tmp}/state"
        fe = f"ipc://{tmp}/fe"
        port = free_port()
        log = open(f"{tmp}/serve.log", "w")
        serve = subprocess.Popen([baton, "serve", "--frontend", fe, "--state-dir", state, "--workers",
                                  str(args.workers), "--metrics", f"127.0.0.1:{port}", "--",
                                  worker, "--session-counter"], stderr=log)
        deadline = time.time() + 60
        while time.time() < deadline:
            s = status(baton, state)
            if s and len(s["slots"]) == args.workers and all(x["state"] == "ready" for x in s["slots"]):
                break
            time.sleep(0.1)
        else:
            sys.exit("serve did not get ready in 60 s")
        baseline = proc_sample(serve.pid)
        stop = threading.Event()
        stop_file = f"{tmp}/stop-sessions"
        bench = subprocess.Popen([baton, "bench", "--frontend", fe, "--clients", str(args.clients), "--duration",
                                  str(duration), "--warmup", "0", "--json"], stdout=subprocess.PIPE, text=True)
        sessions = subprocess.Popen([sys.executable, SESSION_CLIENT, fe, "--keys", str(args.keys),
                                     "--stop-file", stop_file, "--timeout-ms", "60000"],
                                    stdout=subprocess.PIPE, text=True)
        helpers = [NonReader(fe, stop), Slowloris(port, stop), Prober(port, stop)]
        nonreader, slowloris, prober = helpers
        for h in helpers:
            h.start()
        start = time.time()
        samples, kills, stops, conts, reloads = [], 0, 0, 0, []
        next_kill, next_reload, next_stop, next_sample = args.kill_every, args.reload_every, args.stop_every, 0
        to_continue = []  # (time, pid)
        reload_threads = []

        def reload():
            r = subprocess.run([baton, "reload", "--state-dir", state], capture_output=True, text=True)
            reloads.append(r.returncode)

        while time.time() - start < duration:
            elapsed = time.time() - start
            if elapsed >= next_sample:
                sample = {"t": int(elapsed), **proc_sample(serve.pid)}
                samples.append(sample)
                print(json.dumps(sample), flush=True)
                next_sample += 10
            if elapsed >= next_kill:
                pids = worker_pids(baton, state)
                if pids:
                    try:
                        os.kill(pids[kills % len(pids)], signal.SIGKILL)
                        kills += 1
                    except ProcessLookupError:
                        pass
                next_kill += args.kill_every
            if elapsed >= next_stop:
                pids = worker_pids(baton, state)
                if pids:
                    victim = pids[(stops + 1) % len(pids)]
                    try:
                        os.kill(victim, signal.SIGSTOP)
                        stops += 1
                        if stops % 2:
                            to_continue.append((elapsed + 2, victim))
                    except ProcessLookupError:
                        pass
                next_stop += args.stop_every
            for item in [x for x in to_continue if x[0] <= elapsed]:
                to_continue.remove(item)
                try:
                    os.kill(item[1], signal.SIGCONT)
                    conts += 1
                except ProcessLookupError:
                    pass
            if elapsed >= next_reload:
                t = threading.Thread(target=reload)
                t.start()
                reload_threads.append(t)
                next_reload += args.reload_every
            time.sleep(0.2)
        for _, pid in to_continue:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        open(stop_file, "w").close()
        report = json.loads(bench.communicate()[0])
        session_report = json.loads(sessions.communicate()[0] or "{}")
        stop.set()
        for h in helpers:
            h.join(timeout=60)
        for t in reload_threads:
            t.join()
        time.sleep(7)  # past the metrics server's 5 s request deadline: the slowloris connections are gone
        quiet = proc_sample(serve.pid)
        final = status(baton, state) or {}
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=120)
        db = sqlite3.connect(f"{state}/baton.sqlite")
        rows = db.execute("SELECT count(*) FROM request").fetchone()[0]
        by_status = dict(db.execute("SELECT status, count(*) FROM request GROUP BY status").fetchall())
        history = final.get("history") or {}
        pruned = history.get("prunedRows", 0) or 0
        received = (final.get("broker") or {}).get("requestsReceived")
        errors = sum(report["errors"].values())
        sent = report["sent"] + session_report.get("sent", 0)
        replies = report["matched"] + errors + session_report.get("replies", 0)
        all_sent = sent + nonreader.sent
        result = {
            "duration_s": duration,
            "sent": sent, "replies": replies, "silent": sent - replies + report["lost"],
            "bench": {k: report[k] for k in ("sent", "matched", "lost", "mismatched", "errors")},
            "sessions": {k: session_report.get(k) for k in ("sent", "replies", "errors", "violation_count", "lost")},
            "never_read_sent": nonreader.sent,
            "broker_requests_received": received,
            "rows": rows, "rows_pruned": pruned, "rows_plus_pruned": rows + pruned, "rows_by_status": by_status,
            "history_dropped_events": history.get("droppedEvents"),
            "throughput_rps": round(report["throughput"]), "p99_us": report["p99"],
            "kills": kills, "sigstops": stops, "sigconts": conts, "reloads_exit_codes": reloads,
            "slowloris": {"opened": slowloris.opened, "closed_by_server": slowloris.closed_by_server},
            "healthz_probes": {"ok": prober.ok, "failed": prober.failed, "max_s": round(prober.max_s, 2)},
            "serve_exit": serve.returncode,
            "rss_mib_first_last_max": [samples[0]["rss_mib"], samples[-1]["rss_mib"],
                                       max(x["rss_mib"] for x in samples)],
            "fds_first_last_max": [samples[0]["fds"], samples[-1]["fds"], max(x["fds"] for x in samples)],
            "threads_first_last_max": [samples[0]["threads"], samples[-1]["threads"],
                                       max(x["threads"] for x in samples)],
            "fds_before_chaos_and_after_quiet": [baseline["fds"], quiet["fds"]],
            "rss_mib_before_chaos_and_after_quiet": [baseline["rss_mib"], quiet["rss_mib"]],
        }
        checks = {
            "requests sent = replies received": sent == replies,
            "no request silent": result["silent"] == 0 and report["mismatched"] == 0,
            "session counts unbroken": session_report.get("violation_count", 1) == 0,
            "requests received = requests sent by all clients": received == all_sent,
            "history rows + pruned = requests": rows + pruned == received,
            "no history row left open": by_status.get("queued", 0) + by_status.get("in_flight", 0) == 0,
            "every /healthz probe answered": prober.failed == 0 and prober.ok > 0,
            "serve exited 0": serve.returncode == 0,
            "descriptors flat": quiet["fds"] <= baseline["fds"] + 8,
        }
        result["failed_checks"] = [name for name, ok in checks.items() if not ok]
        print(json.dumps(result), flush=True)
        if result["failed_checks"]:
            print(f"soak: FAILED: {', '.join(result['failed_checks'])}; serve log: {tmp}/serve.log kept below",
                  file=sys.stderr)
            log.close()
            with open(f"{tmp}/serve.log") as f:
                lines = f.readlines()
            sys.stderr.writelines(lines[-40:])
            sys.exit(1)


if __name__ == "__main__":
    main()
