#!/usr/bin/env python3
"""Measures Baton's broker with workers of higher capacity against the reference C brokers, same run.

    bench/capacity_bench.py --ref-bin DIR [--baton PATH] [--rounds 5] [--duration 3]
                            [--scenarios pipelined,slow,classic-b,classic-c,history] [--history-seconds 10]
                            [--history-off-side] [--baseline PATH] [--baton-args ARGS]

DIR holds the reference programs `lru_broker`, `proxy` (zmq_proxy ROUTER/DEALER), `worker` and `loadgen`
(C, over libzmq). Every scenario runs each of its sides once per round, over ipc with 64-byte bodies,
rotating which side goes first; a side is one broker, 4 C echo workers and `loadgen` for 0.5 s warm-up +
DURATION s. The broker's CPU time (user + system, all threads) comes from /proc/PID/stat before and after.
Baton always runs `serve --workers 0` with history on (the default), so its CPU includes the history writer.

Scenarios (clients x requests in flight each):
  pipelined  4 x 32: Baton with 4 `worker -m dealer -c 32` against `proxy` with 4 `worker -m rep`
  slow       16 x 1, three workers sleep 1 ms per request and one 10 ms: Baton with 4 `-m dealer -c 8`
             against `lru_broker` with 4 `-m req` and `proxy` with 4 `-m rep`
  classic-b  16 x 1: Baton with 4 `-m req` (capacity 1) against `lru_broker` with 4 `-m req`
  classic-c  4 x 32: the same
  history    the pipelined load on Baton for --history-seconds, then the recorder's counters from
             `baton status --json` once its backlog is written: events dropped, rows/s, bytes/row

With --history-off-side, every scenario but history also runs Baton with --no-history ("baton-off"), to
show what recording costs. With --baseline, every scenario but history also runs that other `baton` build
("baton-base", history on), to measure a change before and after in the same run. --baton-args adds
arguments to every `baton serve` (e.g. "--no-history" to compare two builds' brokers alone).

Prints one line per run and a table of medians with ratios to the C reference.
"""
import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

TICKS = os.sysconf("SC_CLK_TCK")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_c import cpu_seconds, wait_for_socket  # noqa: E402

FAST_SLOW_WORK = ["1000", "1000", "1000", "10000"]
SCENARIOS = {
    # name: (clients, window, sides, reference side)
    "pipelined": (4, 32, ["baton", "proxy"], "proxy"),
    "slow": (16, 1, ["baton", "lru", "proxy"], "lru"),
    "classic-b": (16, 1, ["baton", "lru"], "lru"),
    "classic-c": (4, 32, ["baton", "lru"], "lru"),
}
THREADS = ("broker", "io", "history")
METRICS = ("throughput_rps", "p50_us", "p99_us", "cpu_us_per_req") + tuple(f"{t}_us_per_req" for t in THREADS)


def thread_cpu(pid):
    """CPU seconds of each of a process's threads, added up by thread name: the broker's own thread (Baton:
    baton-broker; C: the program's main thread), libzmq's I/O thread (ZMQbg/IO/0) and Baton's history writer
    (baton-history)."""
    totals = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                text = f.read()
        except FileNotFoundError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        key = "io" if name.startswith("ZMQbg/IO") else "history" if name == "baton-history" else \
            "broker" if name in ("baton-broker", "lru_broker", "proxy") else "other"
        totals[key] = totals.get(key, 0) + (int(fields[11]) + int(fields[12])) / TICKS
    return totals


def worker_commands(args, scenario, side, backend):
    """The 4 C workers of one side: their socket type and capacity, and their work."""
    if side == "proxy":
        mode = ["-m", "rep"]
    elif side == "lru" or scenario.startswith("classic"):
        mode = ["-m", "req"]
    else:
        mode = ["-m", "dealer", "-c", "8" if scenario == "slow" else "32"]
    work = FAST_SLOW_WORK if scenario == "slow" else ["0"] * 4
    return [[f"{args.ref_bin}/worker", *mode, "-e", f"ipc://{backend}", "-w", w, "-k", "sleep"] for w in work]


def sides_of(scenario, args):
    sides = SCENARIOS[scenario][2]
    extra = (["baton-off"] if args.history_off_side else []) + (["baton-base"] if args.baseline else [])
    return sides[:1] + extra + sides[1:]


def start_broker(args, side, fe, be, state):
    if side == "lru":
        command = [f"{args.ref_bin}/lru_broker", f"ipc://{fe}", f"ipc://{be}"]
    elif side == "proxy":
        command = [f"{args.ref_bin}/proxy", f"ipc://{fe}", f"ipc://{be}"]
    else:
        executable = args.baseline if side == "baton-base" else args.baton
        command = [executable, "serve", "--frontend", f"ipc://{fe}", "--backend", f"ipc://{be}",
                   "--state-dir", state, "--log-level", "error", "--workers", "0"]
        if side == "baton-off":
            command.append("--no-history")
        command += args.baton_args.split()
    return subprocess.Popen(command, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def stop(processes):
    for p in processes:
        p.terminate()
    for p in processes:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def status(args, state):
    out = subprocess.run([args.baton, "status", "--json", "--state-dir", state], capture_output=True, text=True,
                         timeout=30).stdout
    return json.loads(out)


def run_one(args, scenario, side, tmp, duration, history=False):
    clients, window = SCENARIOS["pipelined" if history else scenario][:2]
    fe, be, state = f"{tmp}/fe-{side}", f"{tmp}/be-{side}", f"{tmp}/state-{side}-{time.monotonic_ns()}"
    for p in (fe, be):
        if os.path.exists(p):
            os.unlink(p)
    broker = start_broker(args, side, fe, be, state)
    wait_for_socket(fe)
    wait_for_socket(be)
    workers = [subprocess.Popen(c, stderr=subprocess.DEVNULL)
               for c in worker_commands(args, "pipelined" if history else scenario, side, be)]
    time.sleep(0.3)
    cpu0, threads0 = cpu_seconds(broker.pid), thread_cpu(broker.pid)
    out = subprocess.run([f"{args.ref_bin}/loadgen", "-e", f"ipc://{fe}", "-n", str(clients), "-w", str(window),
                          "-d", str(duration), "-u", "500", "-l", side],
                         capture_output=True, text=True, timeout=300).stdout
    cpu1, threads1 = cpu_seconds(broker.pid), thread_cpu(broker.pid)
    values = dict(kv.split("=", 1) for kv in out.split())
    received = int(values.get("recv", "0"))
    values["cpu_us_per_req"] = f"{(cpu1 - cpu0) * 1e6 / received:.1f}" if received else "nan"
    for key in THREADS:
        spent = threads1.get(key, 0) - threads0.get(key, 0)
        values[f"{key}_us_per_req"] = f"{spent * 1e6 / received:.1f}" if received else "nan"
    if history:
        values.update(history_figures(args, state, received, float(values.get("secs", duration))))
    stop(workers + [broker])
    return values


def history_figures(args, state, received, seconds):
    """Waits for the recorder's backlog to be written, then reads its counters and the database's rows."""
    drained_at = None
    deadline = time.time() + 120
    report = status(args, state)
    started = time.time()
    while time.time() < deadline:
        report = status(args, state)
        if report["history"]["waitingEvents"] == 0:
            drained_at = time.time()
            break
        time.sleep(0.1)
    recorder = report["history"]
    database = f"{state}/baton.sqlite"
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT count(*) FROM request").fetchone()[0]
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = db.execute("PRAGMA page_count").fetchone()[0] - db.execute("PRAGMA freelist_count").fetchone()[0]
    catch_up = (drained_at - started) if drained_at else float("nan")
    write_seconds = recorder["writeNanoseconds"] / 1e9
    return {
        "dropped": str(recorder["droppedEvents"]),
        "max_backlog": str(recorder["maxBacklog"]),
        "rows": str(rows),
        "rows_per_s": f"{rows / seconds:.0f}",
        "rows_per_write_s": f"{rows / write_seconds:.0f}" if write_seconds else "nan",
        "catch_up_s": f"{catch_up:.2f}",
        "bytes_per_row": f"{page_size * pages / rows:.0f}" if rows else "nan",
        "requests": str(received),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ref-bin", required=True)
    parser.add_argument("--baton", default=".build/release/baton")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=3)
    parser.add_argument("--scenarios", default="pipelined,slow,classic-b,classic-c,history")
    parser.add_argument("--history-seconds", type=float, default=10)
    parser.add_argument("--history-off-side", action="store_true", help="also run Baton with --no-history")
    parser.add_argument("--baseline", help="another baton executable to run as a side of its own")
    parser.add_argument("--baton-args", default="", help="extra arguments for every `baton serve`")
    args = parser.parse_args()
    chosen = args.scenarios.split(",")
    results = {}
    with tempfile.TemporaryDirectory(prefix="bcap-", dir="/tmp") as tmp:
        for round_index in range(args.rounds):
            for scenario in chosen:
                if scenario == "history":
                    values = run_one(args, scenario, "baton", tmp, args.history_seconds, history=True)
                    results.setdefault((scenario, "baton"), []).append(values)
                    print(f"round={round_index} scenario=history rps={values.get('throughput_rps')} "
                          f"lost={values.get('lost')} requests={values['requests']} rows={values['rows']} "
                          f"dropped={values['dropped']} max_backlog={values['max_backlog']} "
                          f"rows_per_s={values['rows_per_s']} rows_per_write_s={values['rows_per_write_s']} "
                          f"catch_up_s={values['catch_up_s']} bytes_per_row={values['bytes_per_row']} "
                          f"cpu_us_per_req={values['cpu_us_per_req']}", flush=True)
                    continue
                sides = sides_of(scenario, args)
                shift = round_index % len(sides)
                for side in sides[shift:] + sides[:shift]:
                    values = run_one(args, scenario, side, tmp, args.duration)
                    results.setdefault((scenario, side), []).append(values)
                    print(f"round={round_index} scenario={scenario} side={side} "
                          + " ".join(f"{m}={values.get(m)}" for m in METRICS)
                          + f" lost={values.get('lost')} mismatched={values.get('mismatched')}", flush=True)

    def median(scenario, side, key):
        return statistics.median(float(v[key]) for v in results[(scenario, side)])

    print()
    print("| scenario | metric | side | median | Baton / side |")
    print("|---|---|---|---|---|")
    for scenario in chosen:
        if scenario == "history":
            for key in ("throughput_rps", "requests", "rows", "dropped", "max_backlog", "rows_per_s",
                        "rows_per_write_s", "catch_up_s", "bytes_per_row", "cpu_us_per_req"):
                print(f"| history | {key} | baton | {median(scenario, 'baton', key):.1f} | |")
            continue
        clients, window = SCENARIOS[scenario][:2]
        sides = sides_of(scenario, args)
        for key in METRICS:
            b = median(scenario, "baton", key)
            for side in sides:
                value = median(scenario, side, key)
                ratio = f"{b / value:.2f}" if side != "baton" and value else ""
                print(f"| {scenario} {clients}x{window} | {key} | {side} | {value:.1f} | {ratio} |")
        lost = sum(int(v.get("lost", 0)) + int(v.get("mismatched", 0)) for s in sides for v in results[(scenario, s)])
        print(f"| {scenario} {clients}x{window} | lost + mismatched, all runs | all | {lost} | |")


if __name__ == "__main__":
    sys.exit(main())
