import BatonProtocol
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
    /// sessions that end, are refused and are lost (more lost than kept), a worker that goes silent, one that
    /// hangs, one that disconnects, one that answers badly, one that gives a request back, a client that leaves
    /// or does not read, a locked and a refusing database, a peer of another uid on the control socket, clients
    /// of the metrics port that close early, send junk or never finish, and requests at shutdown.
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
            "--request-timeout", "3", "--retry-on-crash", "1", "--max-message-size", "65536",
            "--max-unread-replies", "2", "--max-sessions", "2", "--session-idle-timeout", "1",
            "--history-retention", "1KB", "--drain-timeout", "10",
        ], directory: directory)
        defer { serve.signal(SIGKILL) }
        let port = try #require(serve.metricsPort(), "\(serve.output)")
        #expect(serve.waitForOutput("serving"), "\(serve.output)")
        let (frontend, backend) = try #require(boundEndpoints(serve.output), "\(serve.output)")
        let probe = CounterSampler(coverage: coverage, stateDir: state, directory: directory, port: port, serve: serve)
        // The metrics port's clients first: their heads time out (2 s) while the rest goes on.
        let visitors = try MetricsPortVisitors(port: port)
        defer { visitors.close() }
        probe.metrics()  // the connections held open
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
        // session key are refused at once. (The queue is seen here only if the status comes within
        // --queue-timeout; the managed scenario holds a request queued for as long as it needs.)
        try c.send("", "nobody serves this")
        probe.waitForStatus("the request queued", seconds: 1, required: false) { $0.broker.queueDepth > 0 }
        probe.metrics()
        expectErrorReply(try c.receiveText(), "expired")
        let chunk = [UInt8](repeating: 0x61, count: 30_000)
        try c.send([[], chunk, chunk, chunk])
        expectErrorReply(try c.receiveText(), "too-large")
        try c.send("", "BATON-SESSION", "", "no key")
        expectErrorReply(try c.receiveText(), "bad-session")

        // A client that reads none of its replies: they are dropped at the 5 s not-reading deadline, while the
        // scenarios below run.
        let deaf = try clientThatDoesNotRead(frontend: frontend, backend: backend, wire: wire, asClient: asClient,
                                             asWorker: asWorker, probe: probe)
        try sessions(c, backend: backend, wire: wire, asWorker: asWorker, probe: probe)
        try faultyWorkers(c, backend: backend, wire: wire, asWorker: asWorker, probe: probe)
        let w4 = try hangingWorker(c, backend: backend, wire: wire, asWorker: asWorker, probe: probe)
        try returningWorker(c, w4: w4, backend: backend, wire: wire, asWorker: asWorker, probe: probe)
        try clientThatLeaves(frontend: frontend, w4: w4, wire: wire, asClient: asClient, probe: probe)
        try refusingDatabase(c, w4: w4, path: state + "/baton.sqlite", probe: probe)
        try unreadableControlRequest(state: state, probe: probe)

        if canRunAsNobody {
            chmod(directory, 0o711)
            chmod(state, 0o711)
            chmod(state + "/control.ipc", 0o666)
            let (code, output) = try runBatonAsNobody(["status", "--state-dir", state], directory: directory)
            #expect(code == 77, "\(output)")
            probe.waitForStatus("the other uid's request counted") { $0.controlPeersRefused > 0 }
        }

        probe.waitForStatus("replies to the client that does not read dropped at the deadline") {
            $0.broker.unreadRepliesDropped > 0 && $0.broker.repliesWaiting == 0
        }
        deaf.close()
        probe.waitForMetrics("the metrics port's connections ended every way") { metrics in
            ["answered", "refused", "evicted", "timed-out", "client-closed"].allSatisfy {
                value(metrics, "baton_metrics_http_connections_total{outcome=\"\($0)\"}") > 0
            }
        }
        visitors.close()

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
        try loseMoreSessionsThanKept(c, backend: backend, wire: wire, asWorker: asWorker, probe: probe)
    }

    /// Two workers in turn leave holding two sessions each: the broker keeps the keys of at most --max-sessions
    /// 2 lost sessions, and forgets the oldest two. Each key is kept for --session-idle-timeout (1 s) after its
    /// loss, so both losses must fall within it: tried again, up to three times, on a machine too slow for that.
    private func loseMoreSessionsThanKept(_ c: WirePeer, backend: String, wire: WireContext,
                                          asWorker: CurveClientCredentials, probe: CounterSampler) throws {
        let before = probe.status()?.broker.lostSessionsForgotten ?? 0
        for attempt in 1...3 {
            // Each worker stays connected until the end, so that its DISCONNECT is not lost with its socket.
            var workers: [WirePeer] = []
            defer { for worker in workers { worker.close() } }
            for name in ["a", "b"] {
                let worker = try wire.connect(.dealer, backend, curve: asWorker)
                workers.append(worker)
                try worker.send("READY")
                for index in 1...2 {
                    try c.send("", "BATON-SESSION", "lost-\(attempt)\(name)\(index)", "x")
                    let request = try #require(try worker.nextRequest())
                    try worker.reply(request, Array("1".utf8))
                    #expect(try c.receiveText() == ["", "1"])
                }
                try worker.send([WirePeer.disconnect])
            }
            let forgotten = probe.waitForStatus("the oldest lost sessions forgotten", seconds: 5,
                                                required: attempt == 3) {
                $0.broker.lostSessionsForgotten > before && $0.broker.lostSessionKeys > 0
            }
            if (forgotten?.broker.lostSessionsForgotten ?? 0) > before { return }
        }
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
        // w3 heartbeats at each status read until it takes its request: alive however slow the status is.
        probe.waitForStatus("the heartbeating worker registered") { status in
            try? w3.send([WirePeer.heartbeat])
            return status.broker.workers == base + 1
        }
        let w4 = try wire.connect(.dealer, backend, curve: asWorker)
        try w4.send("READY")
        probe.waitForStatus("the second worker registered") { status in
            try? w3.send([WirePeer.heartbeat])
            return status.broker.workers == base + 2
        }
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

    /// A worker that leaves and gives back (RETURN) a request it holds and did not start: the broker answers
    /// RETURN, and the request is served by the other worker.
    private func returningWorker(_ c: WirePeer, w4: WirePeer, backend: String, wire: WireContext,
                                 asWorker: CurveClientCredentials, probe: CounterSampler) throws {
        let before = try #require(probe.status()?.broker)
        let leaving = try wire.connect(.dealer, backend, curve: asWorker)
        defer { leaving.close() }
        try leaving.send("READY")
        probe.waitForStatus("the worker that will leave registered") { $0.broker.workers > before.workers }
        try c.send("", "kept")
        try c.send("", "given back")
        let kept = try #require(try w4.nextRequest(), "the worker idle longest takes the first")
        let given = try #require(try leaving.nextRequest())
        #expect(given.body == ["given back"])
        try leaving.send([WirePeer.giveBack, given.token])
        #expect(try leaving.receive() == [WirePeer.giveBack], "the broker answers RETURN")
        try leaving.send([WirePeer.disconnect])
        try w4.reply(kept, Array("kept".utf8))
        #expect(try c.receiveText() == ["", "kept"])
        let again = try #require(try w4.nextRequest(), "the request given back is served by the other worker")
        #expect(again.body == ["given back"])
        try w4.reply(again, Array("served".utf8))
        #expect(try c.receiveText() == ["", "served"])
        let after = probe.waitForStatus("the request given back counted, not as a retry; its worker gone") {
            $0.broker.requestsReturned == before.requestsReturned + 1
                && $0.broker.workersDisconnected > before.workersDisconnected
        }
        #expect(after?.broker.retried == before.retried, "a request given back is not retried")
    }

    /// A client that leaves before its reply: the reply has nowhere to go.
    private func clientThatLeaves(frontend: String, w4: WirePeer, wire: WireContext,
                                  asClient: CurveClientCredentials, probe: CounterSampler) throws {
        let leaving = try wire.connect(.dealer, frontend, curve: asClient)
        try leaving.send("", "nobody waits for this")
        let orphan = try #require(try w4.nextRequest())
        let clients = probe.status()?.broker.connections.clients ?? 1
        leaving.close()
        probe.waitForStatus("the client's connection closed") { $0.broker.connections.clients < clients }
        try w4.reply(orphan, Array("unroutable".utf8))
        probe.waitForStatus("the reply counted unroutable") { $0.broker.unroutableReplies > 0 }
    }

    /// A client that sends many requests and reads none of the replies, served by a worker of its own that
    /// leaves once it has answered them: more replies than the client's pipe and the kernel's buffers hold wait
    /// in the broker. Returns the client, whose waiting replies are dropped 5 s after the last one went out.
    private func clientThatDoesNotRead(frontend: String, backend: String, wire: WireContext,
                                       asClient: CurveClientCredentials, asWorker: CurveClientCredentials,
                                       probe: CounterSampler) throws -> WirePeer {
        let worker = try wire.connect(.dealer, backend, curve: asWorker)
        try worker.send("READY")
        let deaf = try wire.connect(.dealer, frontend, curve: asClient, receiveHighWaterMark: 1)
        let large = [UInt8](repeating: 0x62, count: 60_000)
        // 12 MB of replies: more than the kernel's loopback buffers hold for a reader that does not read. Each
        // request is sent once the one before was answered, so that none waits past --queue-timeout. Replies
        // wait from when the pipe is full until 5 s pass with none going out: the status is read every ten
        // replies until it shows them waiting, so that a slow machine cannot outrun that window.
        var sawWaiting = false
        for index in 0..<200 {
            try deaf.send("", "one of many \(index)")
            let request = try #require(try worker.nextRequest(), "the request reaches the worker")
            try worker.reply(request, large)
            if !sawWaiting && index % 10 == 9 { sawWaiting = (probe.status()?.broker.repliesWaiting ?? 0) > 0 }
        }
        #expect(sawWaiting, "replies waited in the broker for the client that does not read")
        try worker.send([WirePeer.disconnect])
        probe.waitForStatus("the client's worker gone") { $0.broker.workers == 0 }
        worker.close()
        return deaf
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

    /// A control request the supervisor cannot read (another protocol version): refused and counted.
    private func unreadableControlRequest(state: String, probe: CounterSampler) throws {
        let reply = try ControlSocketPeer.exchange(json: #"{"version":99,"command":"status"}"#, stateDir: state)
        #expect(reply?.contains("refused") == true, "\(reply ?? "no reply")")
        probe.waitForStatus("the unreadable control request counted") { $0.controlRequestsUnreadable > 0 }
    }
}
