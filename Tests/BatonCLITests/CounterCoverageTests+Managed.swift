import Broker
import Foundation
import Supervisor
import Testing
import ZeroMQ

extension CounterCoverageTests {
    /// `serve` with two managed pyzmq workers (Tests/peers/scripted_worker.py): sessions that move in a reload,
    /// moves that fail and sessions that outlive the session drain timeout, a reload rolled back (its old
    /// worker drained first, holding requests) and one refused, a crash, a hang, a worker that leaves, a restart that
    /// cannot exec, and the shutdown.
    func managedWorkers(_ coverage: CounterCoverage) throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = directory + "/worker"
        try "#!/bin/sh\nexec python3 \(Harness.peersDirectory)/scripted_worker.py \"$@\"\n"
            .write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let state = directory + "/state"
        let frontend = "ipc://\(directory)/fe"
        let serve = try Child.baton([
            "serve", "--frontend", frontend, "--state-dir", state, "--workers", "2", "--metrics", "127.0.0.1:0",
            "--heartbeat-interval", "200", "--request-timeout", "3", "--restart-delay", "300",
            "--max-crashes", "20", "--session-drain-timeout", "1", "--handoff-timeout", "2", "--stop-grace", "1",
            "--", script, "--handoff",
        ], directory: directory)
        defer { serve.signal(SIGKILL) }
        let port = try #require(serve.metricsPort(), "\(serve.output)")
        let probe = CounterSampler(coverage: coverage, stateDir: state, directory: directory, port: port, serve: serve)
        probe.waitForMetrics("a slot starting", seconds: 10, required: false) {
            value($0, #"baton_workers{state="starting"}"#) > 0
        }
        let bothReady = { (status: StatusReport) in
            status.slots.count == 2 && status.slots.allSatisfy { $0.state == .ready && $0.capacity > 0 }
        }
        probe.waitForStatus("both slots ready", seconds: 30, bothReady)

        let wire = try WireContext()
        defer { wire.close() }
        let c = try wire.connect(.dealer, frontend)
        let keys = ["s1", "s2", "s3", "s4"]
        func session(_ key: String) throws -> [String]? {
            try c.send("", "BATON-SESSION", key, "x")
            return try c.receiveText()
        }
        for key in keys { #expect(try session(key) == ["", "1"]) }
        probe.sample()

        // Generation 2: the sessions move to it (generation 1 exports them); generation 2 refuses to export.
        #expect(try reload(probe, [script, "--handoff", "--export-error"]) == 0)
        for key in keys { #expect(try session(key) == ["", "2"], "the session moved with its count") }
        // Generation 3: every move fails, the sessions stay on generation 2 and end at the session drain timeout.
        // Its workers take --exit-delay-ms to stop, so that the shutdown shows a slot stopping and one stopped.
        _ = try reload(probe, [script, "--handoff", "--exit-delay-ms", "500"])
        expectErrorReply(try session("s1"), "session-lost")
        // Generation 4 never says READY: rolled back. With --surge 0 the old worker drains first, at once: eight
        // requests fill both workers (capacity 4 each) and a ninth waits in the queue, until a file exists, made
        // once the status shows the draining worker holding them (within --request-timeout, after which they
        // would count as hung).
        let waiting = try wire.connect(.dealer, frontend)
        let released = directory + "/released"
        for _ in 0..<9 { try waiting.send("", "wait-for", released) }
        probe.waitForStatus("both workers full, one request queued") {
            $0.slots.allSatisfy { $0.inFlight == 4 } && $0.broker.queueDepth == 1
        }
        probe.metrics()
        let rolledBack = try reload(probe, [script, "--no-ready"], options: ["--ready-timeout", "1", "--surge", "0"]) {
            if $0.slots.contains(where: { ($0.reloadWait?.requests ?? 0) > 0 }) {
                _ = FileManager.default.createFile(atPath: released, contents: nil)
            }
        }
        #expect(rolledBack != 0)
        #expect(FileManager.default.fileExists(atPath: released), "no slot drained holding requests")
        _ = FileManager.default.createFile(atPath: released, contents: nil)
        for _ in 0..<9 { #expect(try waiting.receiveText() == ["", "done"]) }
        waiting.close()
        // A command that does not exist: refused.
        #expect(try reload(probe, [directory + "/missing"]) != 0)
        probe.waitForStatus("generation 3 serves again in both slots", seconds: 30, bothReady)

        // A crash (the slot waits --restart-delay in backoff), a hang, a worker that leaves.
        let victim = try #require(probe.status()?.slots.first?.pid)
        kill(victim, SIGKILL)
        probe.waitForMetrics("the crashed slot in backoff", seconds: 10, required: false) {
            value($0, #"baton_workers{state="backoff"}"#) > 0
        }
        probe.waitForStatus("the crashed slot restarted", seconds: 30) { bothReady($0) && $0.slots[0].pid != victim }
        try c.send("", "hang")
        probe.waitForStatus("the request that hangs in flight") { $0.slots.contains { $0.inFlight > 0 } }
        expectErrorReply(try c.receiveText(seconds: 15), "worker-died")
        probe.waitForStatus("the hung worker replaced", seconds: 30) { bothReady($0) && $0.broker.workersHung > 0 }
        try c.send("", "leave")
        #expect(try c.receiveText() == ["", "bye"])
        probe.waitForMetrics("the worker that left counted", required: false) {
            value($0, #"baton_worker_restarts_total{reason="disconnected"}"#) > 0
        }
        probe.waitForStatus("the worker that left replaced", seconds: 30, bothReady)

        // A restart while the executable is open for writing (a deploy copying it): exec fails with ETXTBSY, and
        // again at each retry, so the slot stays in backoff.
        let writer = open(script, O_WRONLY)
        #expect(writer >= 0)
        defer { close(writer) }
        kill(try #require(probe.status()?.slots.first?.pid), SIGKILL)
        probe.waitForMetrics("a restart that could not start, and the slot in backoff", seconds: 10, required: false) {
            value($0, #"baton_worker_restarts_total{reason="spawn-failed"}"#) > 0
                && value($0, #"baton_workers{state="backoff"}"#) > 0
        }

        // Shutdown: the slot in backoff is stopped at once, the other stops within --exit-delay-ms; /metrics
        // answers until the very end.
        serve.signal(SIGTERM)
        let deadline = Date().addingTimeInterval(20)
        while serve.process.isRunning && Date() < deadline {
            probe.metrics()
            Thread.sleep(forTimeInterval: 0.005)
        }
        #expect(serve.wait(seconds: 20) != nil, "\(serve.output)")
    }

    /// A worker that exits before READY, under `--max-crashes 1`: its slot fails.
    func crashLoop(_ coverage: CounterCoverage) throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let state = directory + "/state"
        let serve = try Child.baton([
            "serve", "--frontend", "ipc://\(directory)/fe", "--state-dir", state, "--workers", "1", "--no-history",
            "--metrics", "127.0.0.1:0", "--max-crashes", "1", "--restart-delay", "50",
            "--", Harness.exampleWorkerPath, "--fail-before-ready",
        ], directory: directory)
        defer { serve.signal(SIGKILL) }
        let port = try #require(serve.metricsPort(), "\(serve.output)")
        let probe = CounterSampler(coverage: coverage, stateDir: state, directory: directory, port: port, serve: serve)
        probe.waitForStatus("the slot failed") { $0.slots.first?.state == .failed }
        probe.waitForMetrics("the failed slot on /metrics") { value($0, #"baton_workers{state="failed"}"#) > 0 }
        serve.signal(SIGTERM)
        #expect(serve.wait(seconds: 20) != nil, "\(serve.output)")
    }

    /// Runs `baton reload -- command`, sampling both reports while it runs (each status also goes to
    /// `watch`); returns its exit status.
    private func reload(_ probe: CounterSampler, _ command: [String], options: [String] = [],
                        watch: (StatusReport) -> Void = { _ in }) throws -> Int32? {
        let reload = try Child.baton(["reload", "--state-dir", probe.stateDir, "--ready-timeout", "15"] + options
                                        + ["--"] + command,
                                     name: "reload-\(UUID().uuidString.prefix(6))", directory: probe.directory)
        let deadline = Date().addingTimeInterval(60)
        while reload.process.isRunning && Date() < deadline {
            if let status = probe.status() { watch(status) }
            probe.metrics()
        }
        return reload.wait(seconds: 1)
    }
}
