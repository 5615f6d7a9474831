#!/usr/bin/env python3
"""Measures Baton's broker with CURVE off and on, over tcp, same workers, same load, same run.

    bench/curve_bench.py [--baton PATH] [--rounds 5] [--duration 3] [--scenarios b,c] [--workers 4]

For each round and scenario it runs `baton serve` twice, alternating which goes first: plain tcp, and
with `--curve-key` (CURVE on the frontend and the backend). Both have a tcp frontend and a tcp backend on
127.0.0.1, `--workers` managed example workers (echo; with CURVE they get their keys from the supervisor),
and no history. `baton bench` drives it (with `--server-key` when CURVE is on) for 0.5 s warm-up + the
duration, and the supervisor's CPU time (all threads, libzmq's included) is read from /proc before and
after. Prints one line per run and a table of medians with on/off ratios.

Scenarios: b = 16 clients x 1 in flight, c = 4 x 32.
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import tempfile
import time

SCENARIOS = {"b": (16, 1), "c": (4, 32)}
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(baton, state, workers, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = subprocess.run([baton, "status", "--state-dir", state, "--json"], capture_output=True, text=True)
        if out.returncode == 0:
            report = json.loads(out.stdout)
            if report["broker"]["workers"] == workers:
                return
        time.sleep(0.1)
    raise RuntimeError("the workers never became ready")


def run_one(curve, scenario, args, tmp):
    clients, window = SCENARIOS[scenario]
    frontend = f"tcp://127.0.0.1:{free_port()}"
    backend = f"tcp://127.0.0.1:{free_port()}"
    state = f"{tmp}/state-{'on' if curve else 'off'}"
    serve = [args.baton, "serve", "--frontend", frontend, "--backend", backend, "--state-dir", state,
             "--workers", str(args.workers), "--no-history", "--log-level", "error"]
    bench = [args.baton, "bench", "--frontend", frontend, "-c", str(clients), "-w", str(window),
             "-d", str(args.duration), "--warmup", "0.5"]
    if curve:
        serve += ["--curve-key", f"{tmp}/server.key"]
        bench += ["--server-key", f"{tmp}/server.pub"]
    broker = subprocess.Popen(serve, stderr=subprocess.DEVNULL)
    try:
        wait_ready(args.baton, state, args.workers)
        cpu0 = cpu_seconds(broker.pid)
        out = subprocess.run(bench, capture_output=True, text=True, timeout=120).stdout
        cpu1 = cpu_seconds(broker.pid)
    finally:
        broker.terminate()
        try:
            broker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            broker.kill()
            broker.wait()
    values = dict(kv.split("=", 1) for kv in out.split())
    matched = int(values.get("matched", "0"))
    values["cpu_us_per_req"] = f"{(cpu1 - cpu0) * 1e6 / matched:.1f}" if matched else "nan"
    return values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--baton", default=".build/release/baton")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=3)
    parser.add_argument("--scenarios", default="b,c")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bcurve-", dir="/tmp") as tmp:
        subprocess.run([args.baton, "keygen", f"{tmp}/server"], check=True, capture_output=True)
        for round_index in range(args.rounds):
            for scenario in args.scenarios.split(","):
                order = [False, True] if round_index % 2 == 0 else [True, False]
                for curve in order:
                    values = run_one(curve, scenario, args, tmp)
                    results.setdefault((scenario, curve), []).append(values)
                    print(f"round={round_index} scenario={scenario} curve={'on' if curve else 'off'} "
                          f"rps={values.get('throughput_rps')} p50_us={values.get('p50_us')} "
                          f"p99_us={values.get('p99_us')} cpu_us_per_req={values['cpu_us_per_req']} "
                          f"lost={values.get('lost')} errors={values.get('errors')}", flush=True)

    def median(scenario, curve, key):
        return statistics.median(float(v[key]) for v in results[(scenario, curve)])

    print()
    print("| scenario | metric | CURVE off | CURVE on | on / off |")
    print("|---|---|---|---|---|")
    for scenario in args.scenarios.split(","):
        clients, window = SCENARIOS[scenario]
        for key, label in [("throughput_rps", "throughput (req/s)"), ("p50_us", "p50 latency (µs)"),
                           ("p99_us", "p99 latency (µs)"), ("cpu_us_per_req", "supervisor CPU per request (µs)")]:
            off, on = median(scenario, False, key), median(scenario, True, key)
            print(f"| ({scenario}) {clients} x {window} | {label} | {off:,.1f} | {on:,.1f} | {on / off:.2f} |")


if __name__ == "__main__":
    main()
