#!/usr/bin/env python3
"""Measures the Python worker SDK's echo worker against the classic pyzmq lbbroker worker under Baton.

    bench/python_sdk_bench.py [--baton PATH] [--rounds 5] [--duration 5] [--workers 4] [--kinds ...]
                              [--scenarios b,c] [--work-ms N]
    bench/python_sdk_bench.py --handoff KEYS [--baton PATH]

For each round and scenario it runs `baton serve` (release build, history on, ipc endpoints) once per
worker kind, rotating which goes first, with 4 managed workers:

- classic: Tests/peers/lbbroker_worker.py, the zguide lbbroker worker (REQ socket, READY, echo) in pyzmq;
- sdk-1: sdk/python/examples/echo_worker.py --capacity 1;
- sdk-8: sdk/python/examples/echo_worker.py --capacity 8.

`baton bench` drives it (0.5 s warm-up, then --duration seconds, 64-byte bodies, every reply checked), and
the CPU time (user + system) of the supervisor and of the workers is read from /proc before and after.
Prints one line per run and a table of medians with ratios to the classic worker.

Scenarios: b = 16 clients x 1 in flight, c = 4 clients x 32 in flight. --work-ms N makes every worker
sleep N ms per request (`--delay-ms` of the classic worker, `--work-ms` of the SDK's), work that waits
rather than computes, where capacity pays.

--handoff KEYS measures the handoff pause with the SDK's room worker instead: bench/session_bench.py's
handoff measurement (KEYS sessions, one request in flight each, counts checked, through `baton reload` of 4
workers), with sdk/python/examples/room_worker.py --capacity 64 in place of the example worker.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIOS = {"b": (16, 1), "c": (4, 32)}
TICKS = os.sysconf("SC_CLK_TCK")
KINDS = {
    "classic": ["sh", "-c", (f'exec python3 {ROOT}/Tests/peers/lbbroker_worker.py "$BATON_BACKEND" '
                             '--identity "$BATON_WORKER_ID"')],
    "sdk-1": ["python3", f"{ROOT}/sdk/python/examples/echo_worker.py", "--capacity", "1"],
    "sdk-8": ["python3", f"{ROOT}/sdk/python/examples/echo_worker.py", "--capacity", "8"],
}


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def status(baton, state):
    result = subprocess.run([baton, "status", "--state-dir", state, "--json", "--timeout", "2"],
                            capture_output=True, text=True)
    try:
        return json.loads(result.stdout)
    except ValueError:
        return None


def command(kind, work_ms):
    if not work_ms:
        return KINDS[kind]
    if kind == "classic":
        return KINDS[kind][:2] + [KINDS[kind][2] + f" --delay-ms {work_ms}"]
    return KINDS[kind] + ["--work-ms", str(work_ms)]


def run_one(kind, scenario, args, tmp):
    clients, window = SCENARIOS[scenario]
    state = f"{tmp}/state-{kind}-{scenario}"
    frontend = f"ipc://{tmp}/fe-{kind}-{scenario}"
    serve = subprocess.Popen([args.baton, "serve", "--frontend", frontend, "--state-dir", state, "--log-level",
                              "error", "--workers", str(args.workers), "--"] + command(kind, args.work_ms),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            report = status(args.baton, state)
            if report and report["broker"]["workers"] == args.workers:
                break
            if time.time() > deadline:
                raise RuntimeError(f"{kind}: workers never ready")
            time.sleep(0.1)
        pids = [slot["pid"] for slot in report["slots"]]
        before = cpu_seconds(serve.pid), sum(cpu_seconds(pid) for pid in pids)
        out = subprocess.run([args.baton, "bench", "--frontend", frontend, "-c", str(clients), "-w", str(window),
                              "-d", str(args.duration), "--warmup", "0.5", "--json"],
                             capture_output=True, text=True, timeout=args.duration + 60).stdout
        after = cpu_seconds(serve.pid), sum(cpu_seconds(pid) for pid in pids)
        result = json.loads(out)
        # The CPU covers the warm-up too: count its requests at the measured rate.
        total = max(result["sent"], 1) * (args.duration + 0.5) / args.duration
        result["supervisor_us"] = (after[0] - before[0]) / total * 1e6
        result["workers_us"] = (after[1] - before[1]) / total * 1e6
        result["ok"] = result["lost"] == 0 and result["mismatched"] == 0 and not result["errors"]
        return result
    finally:
        serve.terminate()
        serve.wait(30)


def handoff(args):
    """session_bench.handoff_pause with the Python room worker."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import session_bench

    class RoomServe(session_bench.Serve):
        def __init__(self, baton, worker_args, workers=4, extra=()):
            room = ["python3", f"{ROOT}/sdk/python/examples/room_worker.py", "--capacity", "64"]
            super().__init__(baton, room, workers, extra)

    session_bench.Serve = RoomServe
    args.keys = args.handoff
    print(json.dumps(session_bench.handoff_pause(args, None), indent=2))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baton", default=os.path.join(ROOT, ".build/release/baton"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kinds", default="classic,sdk-1,sdk-8")
    parser.add_argument("--scenarios", default="b,c")
    parser.add_argument("--work-ms", type=int, default=0)
    parser.add_argument("--handoff", type=int, metavar="KEYS")
    args = parser.parse_args()
    if args.handoff:
        return handoff(args)
    kinds = args.kinds.split(",")
    results = {(kind, scenario): [] for kind in kinds for scenario in args.scenarios.split(",")}
    with tempfile.TemporaryDirectory(prefix="pyb-", dir="/tmp") as tmp:
        for round_number in range(args.rounds):
            for scenario in args.scenarios.split(","):
                order = kinds[round_number % len(kinds):] + kinds[:round_number % len(kinds)]
                for kind in order:
                    r = run_one(kind, scenario, args, tmp)
                    results[(kind, scenario)].append(r)
                    print(f"round {round_number + 1} {scenario} {kind:8} {r['throughput']:8.0f} req/s "
                          f"p50 {r['p50']:6} us p99 {r['p99']:6} us supervisor {r['supervisor_us']:5.1f} us/req "
                          f"workers {r['workers_us']:5.1f} us/req lost {r['lost']} mismatched {r['mismatched']} "
                          f"errors {sum(r['errors'].values()) if r['errors'] else 0}", flush=True)
    print()
    print("| scenario | worker | req/s | p50 µs | p99 µs | supervisor CPU µs/req | workers CPU µs/req "
          "| req/s vs classic |")
    print("|---|---|---|---|---|---|---|---|")
    for scenario in args.scenarios.split(","):
        base = statistics.median(r["throughput"] for r in results[("classic", scenario)]) \
            if ("classic", scenario) in results else None
        for kind in kinds:
            runs = results[(kind, scenario)]
            throughput = statistics.median(r["throughput"] for r in runs)
            ratio = f"{throughput / base:.2f}" if base else "-"
            clients, window = SCENARIOS[scenario]
            print(f"| {clients} × {window} | {kind} | {throughput:,.0f} | "
                  f"{statistics.median(r['p50'] for r in runs):,.0f} | "
                  f"{statistics.median(r['p99'] for r in runs):,.0f} | "
                  f"{statistics.median(r['supervisor_us'] for r in runs):.1f} | "
                  f"{statistics.median(r['workers_us'] for r in runs):.1f} | {ratio} |")
    bad = [key for key, runs in results.items() for r in runs if not r["ok"]]
    if bad:
        print(f"runs with lost, wrong or error replies: {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
