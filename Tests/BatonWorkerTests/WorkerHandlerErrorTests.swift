import BatonProtocol
import BatonWorker
import Foundation
import Testing

/// What a handler throws, in these tests.
struct HandlerFailure: Error, CustomStringConvertible {
    let description: String
}

/// The body of a `handler-error` reply without the error's details.
let handlerErrorBody = frames("BATON-ERR", "handler-error", "the request's handler failed")

@Suite("A handler that throws fails its own request only, against a ROUTER standing in for the broker",
       .serialized, .timeLimit(.minutes(1)))
struct WorkerHandlerErrorTests {
    @Test("capacity 4: the request whose handler throws is answered handler-error, the others are served, and the worker stays")
    func oneRequestFails() throws {
        let peer = try RouterPeer()
        var options = WorkerOptions()
        options.capacity = 4
        let worker = WorkerThread(peer, options) { request in
            if request.body == frames("bad") { throw HandlerFailure(description: "secret detail") }
            return .reply(request.body)
        }
        #expect(try peer.next() == [[0x01]] + frames("4"))
        let names = ["r0", "r1", "bad", "r3", "r4", "bad", "r6"]
        for (number, name) in names.enumerated() { try peer.send([token(number), []] + frames(name)) }
        var replies: [[UInt8]: [[UInt8]]] = [:]
        for _ in names {
            let reply = try #require(try peer.next())
            replies[reply[0]] = Array(reply.dropFirst(2))
        }
        for (number, name) in names.enumerated() {
            #expect(replies[token(number)] == (name == "bad" ? handlerErrorBody : frames(name)), "\(name)")
        }
        // Still serving: no DISCONNECT came, and it answers the next request.
        try worker.stop(peer)
    }

    @Test("revealHandlerErrors puts the error's description in the reply's text")
    func revealedText() throws {
        let peer = try RouterPeer()
        var options = WorkerOptions()
        options.revealHandlerErrors = true
        let worker = WorkerThread(peer, options) { _ in throw HandlerFailure(description: "no such room") }
        _ = try peer.next()
        try peer.send([token(1), []] + frames("x"))
        #expect(try peer.next() == [token(1), []] + frames("BATON-ERR", "handler-error", "no such room"))
        try worker.stop(peer)
    }

    @Test("after maxHandlerErrors in a row: the requests not started go back (RETURN), the running ones are answered, and DISCONNECT waits for the broker's answer")
    func leavesAfterRepeatedErrors() throws {
        let peer = try RouterPeer()
        let gate = Gate()
        var options = WorkerOptions()
        options.capacity = 2
        options.maxHandlerErrors = 2
        options.heartbeatIntervalMilliseconds = 100
        options.heartbeatLiveness = 100  // it waits up to this long for the broker's answer to RETURN
        let worker = WorkerThread(peer, options) { request in
            let name = String(decoding: request.body[0], as: UTF8.self)
            if name == "bad" { throw HandlerFailure(description: "bad request") }
            return .reply(gate.pass(name) ? request.body : frames("the gate never opened"))
        }
        #expect(try peer.next() == [[0x01]] + frames("2"))
        // Two handler threads: a and b run; bad, bad, c, c wait.
        for (number, name) in ["a", "b", "bad", "bad", "c", "c"].enumerated() {
            try peer.send([token(number), []] + frames(name))
        }
        #expect(gate.awaitArrivals(2))
        gate.open("a")  // its thread takes the first bad, then the second: two errors in a row
        #expect(try peer.next() == [token(0), []] + frames("a"))
        #expect(try peer.next() == [token(2), []] + handlerErrorBody)
        #expect(try peer.next() == [token(3), []] + handlerErrorBody)
        // b still blocks; the freed thread may have started the first c, never the second: given back.
        let returned = try #require(try peer.next())
        #expect(returned.first == WireProtocol.returnByte)
        let tokens = Set(returned.dropFirst())
        #expect(tokens.contains(token(5)) && tokens.isSubset(of: [token(4), token(5)]), "\(returned)")
        // A request the broker sent before it read the RETURN is given back at once.
        try peer.send([token(6), []] + frames("late"))
        #expect(try peer.next() == [WireProtocol.returnByte, token(6)])
        gate.open("b")
        gate.open("c")
        var expected: Set<[[UInt8]]> = [[token(1), []] + frames("b")]
        if !tokens.contains(token(4)) { expected.insert([token(4), []] + frames("c")) }
        var replies: Set<[[UInt8]]> = []
        for _ in expected { replies.insert(try #require(try peer.next())) }
        #expect(replies == expected)
        // Nothing held, but the broker has not answered the RETURN: no DISCONNECT yet (a 300 ms window).
        #expect(try peer.awaitHeartbeats(3), "only heartbeats until the broker answers")
        try peer.send([WireProtocol.returnByte])
        #expect(try peer.next() == [WireProtocol.disconnectByte])
        #expect(worker.exit().flatMap { try? $0.get() } == .handlerErrors(count: 2))
    }

    @Test("maxHandlerErrors below 1 is refused before connecting")
    func maxHandlerErrorsBounds() throws {
        let peer = try RouterPeer()
        var options = WorkerOptions()
        options.maxHandlerErrors = 0
        let worker = WorkerThread(peer, options) { .reply($0.frames) }
        guard case .failure(let error)? = worker.exit() else {
            Issue.record("maxHandlerErrors 0 was accepted")
            return
        }
        #expect(error.description.contains("maxHandlerErrors"), "\(error)")
    }
}
