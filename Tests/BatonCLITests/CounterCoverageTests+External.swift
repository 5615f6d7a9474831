import Broker
import Foundation
import GRDB
import Store
import Supervisor
import Testing
import ZeroMQ

extension CounterCoverageTests {
    /// `serve --workers 0` with CURVE on tcp, its workers and clients played by the test over real sockets:
    /// refused keys and connections, malformed frames, an unknown heartbeat, an expiry, a request too large,
    /// sessions that end, are refused and are lost, a worker that goes silent, one that hangs, one that
    /// disconnects, one that answers badly, a client that leaves or does not read, a locked and a refusing
    /// database, a peer of another uid on the control socket, and requests at shutdown.
    func externalWorkers(_ coverage: CounterCoverage) throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let state = directory + "/state"
        let server = try CurveKeyFiles(), client = try CurveKeyFiles(), worker = try CurveKeyFiles()
        let serve = try Child.baton([
            "serve", "--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*", "--workers", "0",
            "--state-dir", state, "--metrics", "127.0.0.1:0",
            "--curve-key", try server.writeKeyPair(to: directory + "/server.key"),
            "--authorized-workers", try CurveKeyFiles.writeAuthorized([worker], to: directory + "/workers"),
            "--authorized-clients", try CurveKeyFiles.writeAuthorized([client], to: directory + "/clients"),
            "--max-clients", "3", "--heartbeat-interval", "300", "--heartbeat-liveness", "3", "--queue-timeout", "1",
            "--request-timeout", "1.5", "--retry-on-crash", "1", "--max-message-size", "65536",
            "--max-unread-replies", "2", "--max-sessions", "2", "--session-idle-timeout", "1",
            "--history-retention", "1KB", "--drain-timeout", "10",
        ], directory: directory)
        defer { serve.signal(SIGKILL) }
        let port = try #require(serve.metricsPort(), "\(serve.output)")
        #expect(serve.waitForOutput("serving"), "\(serve.output)")
        let (frontend, backend) = try #require(boundEndpoints(serve.output), "\(serve.output)")
        let probe = CounterSampler(coverage: coverage, stateDir: state, directory: directory, port: port, serve: serve)
        let wire = try WireContext()
        defer { wire.close() }
        let asClient = client.credentials(for: server), asWorker = worker.credentials(for: server)
        let c = try wire.connect(.dealer, frontend, curve: asClient)

        // Refusals: a client key not authorised, a client without CURVE, a worker key not authorised.
        let strangers = try [wire.connect(.dealer, frontend, curve: CurveKeyFiles().credentials(for: server)),
                             wire.connect(.dealer, frontend),
                             wire.connect(.dealer, backend, curve: CurveKeyFiles().credentials(for: server))]
        probe.waitForStatus("the three refusals counted") {
            $0.broker.connections.unauthorizedClients > 0 && $0.broker.connections.failedHandshakes > 0
                && $0.broker.connections.unauthorizedWorkers > 0
        }
        for peer in strangers { peer.close() }
        // Then one client more than --max-clients 3 (with `c`).
        let crowd = try (0..<3).map { _ in try wire.connect(.dealer, frontend, curve: asClient) }
        probe.waitForStatus("a client over --max-clients refused") { $0.broker.connections.clientsOverLimit > 0 }
        for peer in crowd { peer.close() }

        // Malformed frames from both sides, and a heartbeat from a worker that never said READY.
        let unknown = try wire.connect(.dealer, backend, curve: asWorker)
        try unknown.send([WirePeer.heartbeat])
        try unknown.send([[0x09], Array("junk".utf8)])
        try c.send("no delimiter")
        try c.send("")
        probe.waitForStatus("malformed frames and an unknown heartbeat counted") {
            $0.broker.unknownHeartbeats > 0 && $0.broker.malformedWorkerMessages > 0
                && $0.broker.malformedClientMessages >= 2
        }
        unknown.close()

        // No worker yet: a request waits in the queue, then expires; one too large and one with an empty
        // session key are refused at once.
        try c.send("", "nobody serves this")
        probe.waitForStatus("the request queued") { $0.broker.queueDepth > 0 }
        probe.metrics()
        expectErrorReply(try c.receiveText(), "expired")
        let chunk = [UInt8](repeating: 0x61, count: 30_000)
        try c.send([[], chunk, chunk, chunk])
        expectErrorReply(try c.receiveText(), "too-large")
        try c.send("", "BATON-SESSION", "", "no key")
        expectErrorReply(try c.receiveText(), "bad-session")

        try sessions(c, backend: backend, wire: wire, asWorker: asWorker, probe: probe)
        try faultyWorkers(c, backend: backend, wire: wire, asWorker: asWorker, probe: probe)
        let w4 = try hangingWorker(c, backend: backend, wire: wire, asWorker: asWorker, probe: probe)
        try clientsThatDoNotRead(frontend: frontend, w4: w4, wire: wire, asClient: asClient, probe: probe)
        try refusingDatabase(c, w4: w4, path: state + "/baton.sqlite", probe: probe)

        if canRunAsNobody {
            chmod(directory, 0o711)
            chmod(state, 0o711)
            chmod(state + "/control.ipc", 0o666)
            let (code, output) = try runBatonAsNobody(["status", "--state-dir", state], directory: directory)
            #expect(code == 77, "\(output)")
            probe.waitForStatus("the other uid's request counted") { $0.controlPeersRefused > 0 }
        }

        // Shutdown: a request in flight holds the drain open; one sent now is answered shutting-down.
        try c.send("", "last")
        let last = try #require(try w4.nextRequest(), "\(serve.output)")
        serve.signal(SIGTERM)
        try c.send("", "too late")
        expectErrorReply(try c.receiveText(), "shutting-down")
        probe.waitForMetrics("shutting-down counted") { value($0, #"baton_requests_total{outcome="shutting-down"}"#) > 0 }
        try w4.reply(last, Array("last".utf8))
        #expect(try c.receiveText() != nil, "the request in flight was answered")
        #expect(serve.wait(seconds: 30) == 0, "\(serve.output)")
    }

    /// Sessions on one worker: opened, refused over --max-sessions, ended by the worker and by idleness, an
    /// END for a key it does not hold, and lost with the worker's DISCONNECT.
    private func sessions(_ c: WirePeer, backend: String, wire: WireContext, asWorker: CurveClientCredentials,
                          probe: CounterSampler) throws {
        let w1 = try wire.connect(.dealer, backend, curve: asWorker)
        try w1.send("READY")
        try c.send("", "hello")
        let hello = try #require(try w1.nextRequest())
        probe.sample()  // a request in flight
        try w1.reply(hello, Array("hello".utf8))
        #expect(try c.receiveText() == ["", "hello"])
        probe.sample()  // an idle worker that has served one

        func session(_ key: String) throws {
            try c.send("", "BATON-SESSION", key, "x")
            let request = try #require(try w1.nextRequest())
            try w1.reply(request, Array("1".utf8))
            #expect(try c.receiveText() == ["", "1"])
        }
        try session("k1")
        try session("k2")
        probe.sample()  // two sessions open
        try c.send("", "BATON-SESSION", "k3", "x")
        expectErrorReply(try c.receiveText(), "too-many-sessions")
        try w1.send([WirePeer.end, Array("k1".utf8)])
        try w1.send([WirePeer.end, Array("not held".utf8)])
        probe.waitForStatus("k1 ended by its worker, k2 after --session-idle-timeout", seconds: 8, required: false) {
            $0.broker.sessionsOpen == 0 && $0.broker.staleSessionMessages > 0
        }
        try session("k3")
        try w1.send([WirePeer.disconnect])
        probe.waitForStatus("the worker that said DISCONNECT removed") { $0.broker.workersDisconnected > 0 }
        try c.send("", "BATON-SESSION", "k3", "again")
        expectErrorReply(try c.receiveText(), "session-lost")
        w1.close()
    }

    /// A REQ worker that answers with a malformed message (bad-reply), and a worker whose connection closed
    /// while it was idle (the dispatch to it fails).
    private func faultyWorkers(_ c: WirePeer, backend: String, wire: WireContext, asWorker: CurveClientCredentials,
                               probe: CounterSampler) throws {
        let w2 = try wire.connect(.req, backend, curve: asWorker)
        try w2.send("READY")
        try c.send("", "answered badly")
        _ = try #require(try w2.nextRequest())
        try w2.send([[0x09]])
        expectErrorReply(try c.receiveText(), "bad-reply")
        w2.close()

        let base = probe.status()?.broker.workers ?? 0
        let gone = try wire.connect(.dealer, backend, curve: asWorker)
        try gone.send("READY")
        let registered = probe.waitForStatus("the worker registered") { $0.broker.workers > base }
        let connections = registered?.broker.connections.workerConnections ?? 1
        gone.close()
        probe.waitForStatus("its connection closed") { $0.broker.connections.workerConnections < connections }
        try c.send("", "to a worker that has gone")
        probe.waitForStatus("the dispatch to it failed") { $0.broker.workersUnreachable > 0 }
        _ = try c.receiveText()  // expired: no worker is left
    }

    /// A heartbeating worker that goes silent with a request, whose retry goes to a worker that holds it past
    /// --request-timeout and answers late. Returns that worker, registered again by its late reply.
    private func hangingWorker(_ c: WirePeer, backend: String, wire: WireContext, asWorker: CurveClientCredentials,
                               probe: CounterSampler) throws -> WirePeer {
        let base = probe.status()?.broker.workers ?? 0
        let w3 = try wire.connect(.dealer, backend, curve: asWorker)
        try w3.send([WirePeer.ready])
        probe.waitForStatus("the heartbeating worker registered") { $0.broker.workers == base + 1 }
        let w4 = try wire.connect(.dealer, backend, curve: asWorker)
        try w4.send("READY")
        probe.waitForStatus("the second worker registered") { $0.broker.workers == base + 2 }
        try w3.send([WirePeer.heartbeat])
        try c.send("", "retried")
        _ = try #require(try w3.nextRequest(seconds: 5), "the worker that waited longest takes it")
        // w3 says nothing more: past its liveness it is removed, and the request goes to w4.
        let retried = try #require(try w4.nextRequest(seconds: 10))
        probe.sample()
        // w4 holds it past --request-timeout: removed as hung; the one retry is spent, so worker-died.
        expectErrorReply(try c.receiveText(), "worker-died")
        try w4.reply(retried, Array("late".utf8))
        probe.waitForStatus("the late reply dropped as stale, its worker taken back") {
            $0.broker.staleReplies > 0 && $0.broker.workersHung > 0 && $0.broker.workersExpired > 0
        }
        w3.close()
        return w4
    }

    /// A client that leaves before its reply, and one that sends many requests and reads none.
    private func clientsThatDoNotRead(frontend: String, w4: WirePeer, wire: WireContext,
                                      asClient: CurveClientCredentials, probe: CounterSampler) throws {
        let leaving = try wire.connect(.dealer, frontend, curve: asClient)
        try leaving.send("", "nobody waits for this")
        let orphan = try #require(try w4.nextRequest())
        let clients = probe.status()?.broker.connections.clients ?? 1
        leaving.close()
        probe.waitForStatus("the client's connection closed") { $0.broker.connections.clients < clients }
        try w4.reply(orphan, Array("unroutable".utf8))
        probe.waitForStatus("the reply counted unroutable") { $0.broker.unroutableReplies > 0 }

        let deaf = try wire.connect(.dealer, frontend, curve: asClient, receiveHighWaterMark: 1)
        // 12 MB of replies: more than the kernel's loopback buffers hold for a reader that does not read.
        for index in 0..<200 { try deaf.send("", "pipelined \(index)") }
        let large = [UInt8](repeating: 0x62, count: 60_000)
        for index in 0..<200 {
            guard let request = try w4.nextRequest(seconds: 5) else { break }
            try w4.reply(request, large)
            if index == 2 { probe.sample() }  // the rest are queued
        }
        probe.waitForStatus("replies past --max-unread-replies dropped") { $0.broker.unreadRepliesDropped > 0 }
        deaf.close()
    }

    /// Another process holds the database's write lock (writes fail and wait), then a trigger refuses request
    /// rows for good (those events are lost).
    private func refusingDatabase(_ c: WirePeer, w4: WirePeer, path: String, probe: CounterSampler) throws {
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true  // the lock is held across calls, on purpose
        configuration.busyMode = .timeout(5)
        let database = try DatabaseQueue(path: path, configuration: configuration)
        try retryingWhileBusy { try database.inDatabase { try $0.execute(sql: "BEGIN IMMEDIATE") } }
        func serveOne(_ body: String) throws {
            try c.send("", body)
            let request = try #require(try w4.nextRequest())
            try w4.reply(request, Array(body.utf8))
            #expect(try c.receiveText() == ["", body])
        }
        try serveOne("while the database is locked")
        probe.waitForStatus("a write failed on the lock, its events wait", seconds: 20) {
            ($0.history?.failedBatches ?? 0) > 0 && ($0.history?.waitingEvents ?? 0) > 0
        }
        try database.inDatabase { db in
            try db.execute(sql: """
                CREATE TRIGGER refuse_requests BEFORE INSERT ON request BEGIN SELECT RAISE(ABORT, 'refused'); END;
                COMMIT;
                """)
        }
        try serveOne("refused by the database")
        probe.waitForStatus("the refused events counted lost", seconds: 20) { ($0.history?.lostEvents ?? 0) > 0 }
        try retryingWhileBusy { try database.inDatabase { try $0.execute(sql: "DROP TRIGGER refuse_requests") } }
    }

    /// Runs `body` until it does not fail with SQLITE_BUSY, for up to 10 s.
    private func retryingWhileBusy(_ body: () throws -> Void) throws {
        let deadline = Date().addingTimeInterval(10)
        while true {
            do {
                return try body()
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
    }
}
