#!/usr/bin/env python3
"""Measures Baton's broker against the reference C LRU broker, same workers, same load, same run.

    bench/compare_c.py --ref-bin DIR [--baton PATH] [--rounds 5] [--duration 3] [--scenarios a,b,c]
                       [--compare brokers|loadgens]

DIR holds the reference programs `lru_broker`, `worker` and `loadgen` (C, over libzmq). For each round
and scenario it runs the C broker and Baton one after the other (alternating which goes first), each with
4 echo workers (`worker -m req`) over ipc, drives it with `loadgen`, and reads the broker's CPU time from
/proc before and after. Prints one line per run and a table of medians with Baton/C ratios.

Scenarios: a = 1 client x 1 in flight (latency), b = 16 x 1, c = 4 x 32.

With --compare loadgens the broker is always Baton, and the two sides are the C load generator and
`baton bench` (which must agree within noise). With --compare history both sides are Baton, with history
recording off ("c" in the per-run lines) and on ("baton"). In --compare brokers, Baton runs with
--no-history unless --history is given, to compare the brokers alone.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

SCENARIOS = {"a": (1, 1), "b": (16, 1), "c": (4, 32)}
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def wait_for_socket(path, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            return
        time.sleep(0.01)
    raise RuntimeError(f"{path} never appeared")


def run_one(kind, scenario, args, tmp):
    broker_kind = kind if args.compare == "brokers" else "baton"
    loadgen = kind if args.compare == "loadgens" else "c"
    clients, window = SCENARIOS[scenario]
    fe, be = f"{tmp}/fe-{kind}", f"{tmp}/be-{kind}"
    for p in (fe, be):
        if os.path.exists(p):
            os.unlink(p)
    if broker_kind == "c":
        broker = subprocess.Popen([f"{args.ref_bin}/lru_broker", f"ipc://{fe}", f"ipc://{be}"],
                                  stderr=subprocess.DEVNULL)
    else:
        history = ["--no-history"] if args.compare == "history" and kind == "c" else []
        if args.compare == "brokers" and not args.history:
            history = ["--no-history"]
        broker = subprocess.Popen([args.baton, "serve", "--frontend", f"ipc://{fe}", "--backend", f"ipc://{be}",
                                   "--state-dir", f"{tmp}/state-{kind}", "--log-level", "error", "--workers", "0"]
                                  + history, stderr=subprocess.DEVNULL)
    wait_for_socket(fe)
    wait_for_socket(be)
    workers = [subprocess.Popen([f"{args.ref_bin}/worker", "-m", "req", "-e", f"ipc://{be}"],
                                stderr=subprocess.DEVNULL) for _ in range(4)]
    time.sleep(0.3)
    cpu0 = cpu_seconds(broker.pid)
    if loadgen == "baton":
        out = subprocess.run([args.baton, "bench", "--frontend", f"ipc://{fe}", "-c", str(clients), "-w",
                              str(window), "-d", str(args.duration), "--warmup", "0.5"],
                             capture_output=True, text=True, timeout=120).stdout
    else:
        out = subprocess.run([f"{args.ref_bin}/loadgen", "-e", f"ipc://{fe}", "-n", str(clients), "-w", str(window),
                              "-d", str(args.duration), "-u", "500", "-l", kind],
                             capture_output=True, text=True, timeout=120).stdout
    cpu1 = cpu_seconds(broker.pid)
    for w in workers:
        w.terminate()
    broker.terminate()
    for p in workers + [broker]:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    values = dict(kv.split("=", 1) for kv in out.split())
    received = int(values.get("recv", values.get("matched", "0")))
    values["broker_cpu_us_per_req"] = f"{(cpu1 - cpu0) * 1e6 / received:.1f}" if received else "nan"
    return values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ref-bin", required=True)
    parser.add_argument("--baton", default=".build/release/baton")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=3)
    parser.add_argument("--scenarios", default="a,b,c")
    parser.add_argument("--compare", choices=["brokers", "loadgens", "history"], default="brokers")
    parser.add_argument("--history", action="store_true", help="brokers: Baton records history (default: off)")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bcmp-", dir="/tmp") as tmp:
        for round_index in range(args.rounds):
            for scenario in args.scenarios.split(","):
                order = ["c", "baton"] if round_index % 2 == 0 else ["baton", "c"]
                for kind in order:
                    values = run_one(kind, scenario, args, tmp)
                    results.setdefault((scenario, kind), []).append(values)
                    print(f"round={round_index} scenario={scenario} {args.compare[:-1]}={kind} "
                          f"rps={values.get('throughput_rps')} p50_us={values.get('p50_us')} "
                          f"p99_us={values.get('p99_us')} cpu_us_per_req={values['broker_cpu_us_per_req']} "
                          f"lost={values.get('lost')}", flush=True)

    def median(scenario, kind, key):
        return statistics.median(float(v[key]) for v in results[(scenario, kind)])

    print()
    if args.compare == "history":
        print("| scenario | metric | history off | history on | on / off |")
    else:
        what = "broker" if args.compare == "brokers" else "load generator"
        print(f"| scenario | metric | C {what} | Baton {what} | Baton / C |")
    print("|---|---|---|---|---|")
    for scenario in args.scenarios.split(","):
        clients, window = SCENARIOS[scenario]
        for key in ("throughput_rps", "p50_us", "p99_us", "broker_cpu_us_per_req"):
            c, b = median(scenario, "c", key), median(scenario, "baton", key)
            print(f"| ({scenario}) {clients}x{window} | {key} | {c:.1f} | {b:.1f} | {b / c if c else float('nan'):.2f} |")


if __name__ == "__main__":
    sys.exit(main())
