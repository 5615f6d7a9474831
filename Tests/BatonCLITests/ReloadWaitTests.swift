import Broker
import Foundation
import Supervisor
import Testing
import ZeroMQ

@testable import BatonCLI

@Suite("How long baton reload waits, and how status shows a reload's wait")
struct ReloadWaitWordsTests {
    /// 12:04:31 UTC on 1 March 2026, in seconds since 1970.
    let until = 1_772_366_671.0

    @Test("the CLI waits as long as the supervisor says, plus a margin; never less than the ready and drain timeouts")
    func patience() {
        let drain = ReloadWait(step: .drain, slot: 1, generation: 2, secondsLeft: 300)
        #expect(ReloadCommandLine.patience(for: drain, readyTimeout: 30, drainTimeout: 60) == 330)
        let ready = ReloadWait(step: .ready, slot: 1, generation: 2, secondsLeft: 2)
        #expect(ReloadCommandLine.patience(for: ready, readyTimeout: 30, drainTimeout: 60) == 120)
        let rollback = ReloadWait(step: .rollback, slot: nil, generation: 2, secondsLeft: nil)
        #expect(ReloadCommandLine.patience(for: rollback, readyTimeout: 30, drainTimeout: 60) == 120)
        #expect(ReloadCommandLine.patience(for: nil, readyTimeout: 1, drainTimeout: 0) == 31)
    }

    @Test("status says what a slot's reload waits for: the sessions and requests it drains, and until when")
    func statusWords() {
        let utc = TimeZone(identifier: "UTC") ?? .current
        var slot = SlotStatus(slot: 3, state: .ready, pid: 5003, workerID: "r-3-3", generation: 1, uptimeSeconds: 60,
                              restarts: 0, lastExit: nil, failure: nil)
        slot.incomingGeneration = 2
        var wait = ReloadWait(step: .drain, slot: 3, generation: 2, secondsLeft: 280)
        wait.until = until
        wait.sessions = 3
        wait.requests = 0
        slot.reloadWait = wait
        #expect(StatusTable.state(of: slot, timeZone: utc) == "draining 3 sessions, until 12:04:31 (gen 2 ready)")
        slot.reloadWait?.requests = 1
        #expect(StatusTable.state(of: slot, timeZone: utc)
                == "draining 1 request and 3 sessions, until 12:04:31 (gen 2 ready)")
        slot.incomingGeneration = nil
        slot.reloadWait?.sessions = 0
        #expect(StatusTable.state(of: slot, timeZone: utc) == "draining 1 request, until 12:04:31 (gen 2 next)",
                "without surge the new worker starts after the drain")
        slot.incomingGeneration = 2
        slot.reloadWait = ReloadWait(step: .ready, slot: 3, generation: 2, secondsLeft: 20)
        slot.reloadWait?.until = until
        #expect(StatusTable.state(of: slot, timeZone: utc) == "ready (gen 2 starting, until 12:04:31)")
        #expect(slot.reloadWait?.line(timeZone: utc) == "slot 3: waiting for the new worker's READY, until 12:04:31")
        slot.reloadWait = nil
        #expect(StatusTable.state(of: slot, timeZone: utc) == "ready (gen 2 starting)")
        let report = StatusReport(pid: 1, command: "w", slots: [slot], broker: BrokerStats())
        let decoded = ControlCodec.decode(StatusReport.self, from: ControlCodec.encode(report))
        #expect(decoded == report)
    }

    @Test("a progress reply carries its step and its wait as data, and baton reload words them as before")
    func progressWireForm() {
        let utc = TimeZone(identifier: "UTC") ?? .current
        var wait = ReloadWait(step: .drain, slot: 1, generation: 2, secondsLeft: 12.5)
        wait.sessions = 1
        let reply = ControlReply.progress(.waiting(wait), wait: wait)
        #expect(ControlCodec.decode(ControlReply.self, from: ControlCodec.encode(reply)) == reply)
        #expect(ControlCodec.decode(ControlReply.self, from: Array(
            #"{"version":1,"reply":"progress","progress":{"newWorkerReady":{"slot":1,"drainingOld":false}}}"#.utf8))
                == .progress(.newWorkerReady(slot: 1, drainingOld: false)))
        #expect(ReloadProgress.newWorkerReady(slot: 1, drainingOld: false).description == "slot 1: new worker ready")
        wait.until = until
        #expect(wait.line(timeZone: utc) == "slot 1: draining 1 session, until 12:04:31")
    }
}

/// Reloads that wait on a session that cannot move: the example worker counts sessions without the handoff
/// capability, so its sessions stay on the old worker until the session drain timeout.
@Suite("Reloads waiting on sessions: real processes, real sockets", .serialized, .timeLimit(.minutes(4)))
struct ReloadWaitTests {
    func sessionServe(sessionDrainTimeout: Int) throws -> ManagedServe {
        let serve = try ManagedServe(workers: 1, options: ["--session-drain-timeout", "\(sessionDrainTimeout)"],
                                     command: [Harness.exampleWorkerPath, "--session-counter", "--no-handoff"])
        serve.waitForStatus("ready") { $0.slots.first?.state == .ready }
        let context = try Context()
        defer { context.terminate() }
        let socket = try Socket(context, .req)
        defer { socket.close() }
        socket.linger = 0
        try socket.setReceiveTimeout(milliseconds: 5_000)
        try socket.connect(serve.frontend)
        try socket.send(frames: [Array("BATON-SESSION".utf8), Array("match-1".utf8), Array("hello".utf8)])
        #expect(try socket.receive() != nil, "the session's first request is answered")
        serve.waitForStatus("one session") { $0.slots.first?.sessions == 1 }
        return serve
    }

    func reload(_ serve: ManagedServe, name: String) throws -> Child {
        try Child.baton(["reload", "--state-dir", serve.stateDir, "--ready-timeout", "1", "--drain-timeout", "0"],
                        name: name, directory: serve.directory)
    }

    /// The slot once its new worker is ready and its old one drains.
    func waitForDrain(_ serve: ManagedServe) -> SlotStatus? {
        serve.waitForStatus("draining") {
            $0.slots.first?.reloadWait?.step == .drain && $0.slots.first?.incomingPid != nil
        }?.slots.first
    }

    @Test("a reload waiting 40 s on a session that cannot move keeps the CLI waiting past ready + drain + 30 s, shows the wait, and ends with the outcome")
    func waitsForTheSessionDrain() throws {
        let serve = try sessionServe(sessionDrainTimeout: 40)
        let started = Date()
        let reload = try reload(serve, name: "reload")
        #expect(reload.waitForOutput("slot 1: new worker ready; draining the old one"), "\(reload.output)")
        let drainStarted = Date()
        let status = serve.waitForStatus("status shows the drain") {
            $0.slots.first?.reloadWait?.step == .drain && $0.slots.first?.reloadWait?.sessions == 1
        }
        #expect(status?.slots.first?.reloadWait?.secondsLeft ?? 0 > 30)
        let (_, table) = try runBaton(["status", "--state-dir", serve.stateDir], directory: serve.directory)
        #expect(table.contains("draining 1 session, until ") && table.contains("(gen 2 ready)"), "\(table)")
        #expect(reload.waitForOutput("slot 1: draining 1 session, until "), "progress while it waits: \(reload.output)")
        let exit = reload.wait(seconds: 120)
        let waited = Date().timeIntervalSince(drainStarted)
        #expect(exit == 0, "\(reload.output)")
        #expect(waited > 31, "today's deadline was the ready and drain timeouts + 30 s after the last message")
        #expect(reload.output.hasSuffix("generation 2 is active in its one slot\n"), "\(reload.output)")
        #expect(!reload.output.contains("no supervisor is answering"))
        print("baton reload waited \(Int(waited)) s after the drain began, \(Int(Date().timeIntervalSince(started))) s "
              + "in all; output:\n\(reload.output)")
        #expect(serve.status()?.slots.first?.generation == 2)
    }

    @Test("killing the new worker after READY rolls back saying it died after READY; killing the old one while it drains is reported as its exit")
    func killsWhileDraining() throws {
        let serve = try sessionServe(sessionDrainTimeout: 120)
        let first = try reload(serve, name: "reload-1")
        kill(try #require(waitForDrain(serve)?.incomingPid), SIGKILL)
        #expect(first.wait(seconds: 60) == 1, "\(first.output)")
        #expect(first.output.contains("reload failed: rolled back to generation 1: slot 1: the new worker exited "
                                      + "(signal 9) after READY, before the slot was done"), "\(first.output)")
        #expect(!first.output.contains("before READY"), "\(first.output)")

        let second = try reload(serve, name: "reload-2")
        kill(try #require(waitForDrain(serve)?.pid), SIGKILL)
        #expect(second.wait(seconds: 60) == 0, "\(second.output)")
        #expect(second.output.contains("slot 1: the old worker exited (signal 9) while it drained; the new worker "
                                       + "takes the slot"), "\(second.output)")
        #expect(!second.output.contains("old worker drained"), "\(second.output)")
        #expect(serve.status()?.slots.first?.generation == 3)
    }
}
