import BatonProtocol
import BatonWorker
import Foundation
import Testing

@Suite("BatonWorker serves up to its capacity at once, against a ROUTER standing in for the broker",
       .serialized, .timeLimit(.minutes(1)))
struct WorkerCapacityTests {
    @Test("READY declares the capacity and the handoff capability, and stays [0x01] or READY for version 1 workers")
    func readyFrames() throws {
        let handoff = SessionHooks(export: { _ in [] }, import: { _, _ in }, end: { _ in })
        let cases: [(capacity: Int, heartbeats: Bool, sessions: SessionHooks?, ready: [[UInt8]])] = [
            (1, true, nil, [[0x01]]),
            (8, true, nil, [[0x01]] + frames("8")),
            (1, true, handoff, [[0x01]] + frames("1", "handoff")),
            (1000, true, handoff, [[0x01]] + frames("1000", "handoff")),
            (3, true, SessionHooks(end: { _ in }), [[0x01]] + frames("3")),
            (1, true, SessionHooks(end: { _ in }), [[0x01]]),
            (1, false, nil, [[]] + frames("READY")),
            (1, false, handoff, [[]] + frames("READY")),
        ]
        for (capacity, heartbeats, sessions, ready) in cases {
            let peer = try RouterPeer()
            var options = WorkerOptions()
            options.capacity = capacity
            options.heartbeats = heartbeats
            let worker = WorkerThread(peer, options, sessions: sessions) { .reply($0.frames) }
            #expect(try peer.next() == ready, "capacity \(capacity), heartbeats \(heartbeats)")
            try worker.stop(peer)
        }
    }

    @Test("a capacity outside 1…1000, or above 1 without heartbeats, is refused before connecting")
    func capacityBounds() throws {
        for (capacity, heartbeats) in [(0, true), (1001, true), (-1, true), (2, false)] {
            let peer = try RouterPeer()
            var options = WorkerOptions()
            options.capacity = capacity
            options.heartbeats = heartbeats
            let worker = WorkerThread(peer, options) { .reply($0.frames) }
            guard case .failure(let error)? = worker.exit() else {
                Issue.record("capacity \(capacity) was accepted")
                continue
            }
            #expect(error.description.contains("capacity"), "\(error)")
        }
    }

    @Test("capacity 8 takes 8 requests at once, heartbeats while all 8 handlers block, and answers each with its token in any order")
    func eightAtOnce() throws {
        let peer = try RouterPeer()
        let gate = Gate()
        var options = WorkerOptions()
        options.capacity = 8
        options.heartbeatIntervalMilliseconds = 20
        let worker = WorkerThread(peer, options) { request in
            let name = String(decoding: request.body[0], as: UTF8.self)
            return .reply(frames(gate.pass(name) ? "done \(name)" : "the gate never opened for \(name)"))
        }
        #expect(try peer.next() == [[0x01]] + frames("8"))
        for number in 1...8 { try peer.send([token(number), []] + frames("r\(number)")) }
        // Each handler waits at the gate until the test opens it: all 8 inside at once means 8 ran concurrently.
        #expect(gate.awaitArrivals(8), "only \(gate.arrivals.count) handlers ran at once")
        #expect(try peer.awaitHeartbeats(3), "heartbeats go on, and nothing else comes, while all 8 handlers block")
        // Finish them last to first: each reply carries its own request's token.
        for number in (1...8).reversed() {
            gate.open("r\(number)")
            #expect(try peer.next() == [token(number), []] + frames("done r\(number)"))
        }
        try worker.stop(peer)
    }

    @Test("a stop reply with requests held: no new request is taken, the held ones are answered, then DISCONNECT")
    func stopDrainsHeldRequests() throws {
        let peer = try RouterPeer()
        let gate = Gate()
        var options = WorkerOptions()
        options.capacity = 3
        let worker = WorkerThread(peer, options) { request in
            let name = String(decoding: request.body[0], as: UTF8.self)
            guard gate.pass(name) else { return .reply(frames("the gate never opened")) }
            return name == "c" ? .replyAndStop(frames("c, stopping")) : .reply(frames("done \(name)"))
        }
        #expect(try peer.next() == [[0x01]] + frames("3"))
        for (number, name) in ["a", "b", "c"].enumerated() { try peer.send([token(number), []] + frames(name)) }
        #expect(gate.awaitArrivals(3))
        gate.open("c")
        #expect(try peer.next() == [token(2), []] + frames("c, stopping"))
        // The worker is stopping: a request now is not taken (the broker answers it once DISCONNECT comes).
        try peer.send([token(3), []] + frames("d"))
        gate.open("d")
        gate.open("a")
        gate.open("b")
        let replies = [try peer.next(), try peer.next()]
        #expect(Set(replies) == [[token(0), []] + frames("done a"), [token(1), []] + frames("done b")])
        #expect(try peer.next() == [WireProtocol.disconnectByte])
        #expect(worker.exit().flatMap { try? $0.get() } == .stopRequested)
        #expect(gate.arrivals.sorted() == ["a", "b", "c"], "d never reached a handler (a, b and c run concurrently, in any order)")
    }

    @Test("REQ-style framing: READY as text, requests and replies behind an empty frame, one at a time")
    func reqFraming() throws {
        let peer = try RouterPeer()
        var options = WorkerOptions()
        options.heartbeats = false
        let worker = WorkerThread(peer, options) { .reply(frames("echo") + $0.frames) }
        #expect(try peer.next() == [[]] + frames("READY"))
        try peer.send([[], token(1), []] + frames("x", "y"))
        #expect(try peer.next() == [[], token(1), []] + frames("echo", "x", "y"))
        try worker.stop(peer)
    }
}
