import Foundation
import Testing

@Suite("The example worker's capacity and session counter, against a ROUTER standing in for the broker",
       .serialized, .timeLimit(.minutes(2)))
struct CapacitySessionTests {
    @Test("READY declares --capacity and, with --session-counter, the handoff capability; --no-handoff drops it")
    func readyFrames() throws {
        let broker = try RouterBroker()
        let cases: [([String], [[UInt8]])] = [
            ([], [[0x01]]),
            (["--capacity", "4"], [[0x01]] + frames("4")),
            (["--session-counter"], [[0x01]] + frames("1", "handoff")),
            (["--session-counter", "--capacity", "3", "--fail-handoff", "export"], [[0x01]] + frames("3", "handoff")),
            (["--session-counter", "--no-handoff"], [[0x01]]),
            (["--session-counter", "--no-handoff", "--capacity", "2"], [[0x01]] + frames("2")),
            (["--session-counter", "--no-heartbeats"], [[]] + frames("READY")),
        ]
        for (arguments, ready) in cases {
            let worker = try broker.start(arguments)
            #expect(worker.ready == ready, "\(arguments)")
            worker.process.signal(SIGTERM)
            #expect(try broker.next(from: worker)?.last == [0x03], "DISCONNECT on SIGTERM, \(arguments)")
            #expect(worker.process.exitStatus() == 0)
        }
    }

    @Test("a capacity outside 1…1000, above 1 without heartbeats, or handoff flags without --session-counter: refused")
    func refusals() throws {
        for arguments in [["--capacity", "0"], ["--capacity", "1001"], ["--capacity", "2", "--no-heartbeats"],
                          ["--no-handoff"], ["--fail-handoff", "import"], ["--handoff-delay-ms", "5"],
                          ["--log-level", "loud"]] {
            let worker = try WorkerProcess(arguments, backend: "tcp://127.0.0.1:1")
            #expect(worker.exitStatus() == 64, "\(arguments)")
        }
    }

    @Test("SIGTERM with 4 requests held: no new request is taken, all 4 are answered, then DISCONNECT and exit 0")
    func drainOnSigterm() throws {
        let broker = try RouterBroker()
        let worker = try broker.start(["--capacity", "4", "--work-ms", "1500", "--log-level", "debug"])
        #expect(worker.ready == [[0x01]] + frames("4"))
        let tokens = (1...4).map { [UInt8](repeating: UInt8($0), count: 8) }
        for token in tokens { try broker.send(to: worker, [token, []] + frames("r\(token[0])")) }
        worker.process.waitUntil("the worker took 4 requests") {
            worker.process.output.components(separatedBy: "request taken").count == 5
        }
        worker.process.signal(SIGTERM)
        worker.process.waitUntil("the worker stops on the signal") { worker.process.output.contains("stopping on signal") }
        #expect(worker.process.output.contains("held=4 [BatonWorker] stopping on signal 15"), "\(worker.process.output)")
        // Taken after the signal, this request would be answered before DISCONNECT: it must not be.
        try broker.send(to: worker, [[9, 9, 9, 9, 9, 9, 9, 9], []] + frames("late"))
        var replies: Set<[[UInt8]]> = []
        for _ in tokens { replies.insert(try #require(try broker.next(from: worker))) }
        #expect(replies == Set(tokens.map { [$0, []] + frames("r\($0[0])") }))
        #expect(try broker.next(from: worker) == [[0x03]])
        #expect(worker.process.exitStatus() == 0)
        #expect(worker.process.output.contains("not taken"))
        #expect(worker.process.output.contains("after 4 requests"), "\(worker.process.output)")
    }

    @Test("--session-counter counts each key's requests, echoes requests without a session, and `end` ends a session")
    func sessionCounter() throws {
        let broker = try RouterBroker()
        let worker = try broker.start(["--session-counter", "--capacity", "4"])
        for (key, count) in [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2)] {
            #expect(try broker.call(worker, session(key)) == frames("\(count)"), "\(key)")
        }
        #expect(try broker.call(worker, frames("hello", "")) == frames("hello", ""))
        #expect(try broker.call(worker, session("a", "end")) == frames("4"))
        #expect(try broker.next(from: worker) == [[0x04]] + frames("a"), "the worker ends the session: END")
        #expect(try broker.call(worker, session("a")) == frames("1"), "a new session")
        #expect(try broker.call(worker, session("b")) == frames("3"))
    }

    @Test("handoff: EXPORT gives the count and keeps it, IMPORT on a second process continues it, END frees it")
    func handoffRoundTrip() throws {
        let broker = try RouterBroker()
        let old = try broker.start(["--session-counter"])
        for count in 1...3 { #expect(try broker.call(old, session("room")) == frames("\(count)")) }
        try broker.send(to: old, [[0x05]] + frames("room"))
        #expect(try broker.next(from: old) == [[0x05]] + frames("room", "ok", "3"))
        #expect(try broker.call(old, session("room")) == frames("4"), "EXPORT keeps the session")
        try broker.send(to: old, [[0x05]] + frames("room"))
        #expect(try broker.next(from: old) == [[0x05]] + frames("room", "ok", "4"))

        let new = try broker.start(["--session-counter", "--capacity", "2"])
        try broker.send(to: new, [[0x06]] + frames("room", "4"))
        #expect(try broker.next(from: new) == [[0x06]] + frames("room", "ok"))
        try broker.send(to: old, [[0x04]] + frames("room"))
        #expect(try broker.call(new, session("room")) == frames("5"), "the count continues on the new process")
        #expect(try broker.call(old, session("room")) == frames("1"), "END freed the old process's count")

        try broker.send(to: new, [[0x05]] + frames("nobody"))
        #expect(try broker.next(from: new) == [[0x05]] + frames("nobody", "error", "no session with this key"))
        try broker.send(to: new, [[0x06]] + frames("room", "four"))
        #expect(try broker.next(from: new) == [[0x06]] + frames("room", "error", "the state is not a count"))
        #expect(try broker.call(new, session("room")) == frames("6"), "a refused IMPORT leaves the session as it was")
    }

    @Test("--fail-handoff export and import answer with an error, and the session stays where it was")
    func failingHandoff() throws {
        let broker = try RouterBroker()
        let exporter = try broker.start(["--session-counter", "--fail-handoff", "export"])
        #expect(try broker.call(exporter, session("k")) == frames("1"))
        try broker.send(to: exporter, [[0x05]] + frames("k"))
        #expect(try broker.next(from: exporter) == [[0x05]] + frames("k", "error", "export fails, as asked (--fail-handoff)"))
        #expect(try broker.call(exporter, session("k")) == frames("2"))

        let importer = try broker.start(["--session-counter", "--fail-handoff", "import", "--handoff-delay-ms", "20"])
        try broker.send(to: importer, [[0x06]] + frames("k", "2"))
        #expect(try broker.next(from: importer) == [[0x06]] + frames("k", "error", "import fails, as asked (--fail-handoff)"))
        #expect(try broker.call(importer, session("k")) == frames("1"), "nothing was imported")
    }

    @Test("--no-handoff: EXPORT and IMPORT are answered with an error; END from the broker frees the count")
    func noHandoff() throws {
        let broker = try RouterBroker()
        let worker = try broker.start(["--session-counter", "--no-handoff"])
        #expect(worker.ready == [[0x01]])
        #expect(try broker.call(worker, session("k")) == frames("1"))
        #expect(try broker.call(worker, session("k")) == frames("2"))
        try broker.send(to: worker, [[0x05]] + frames("k"))
        #expect(try broker.next(from: worker) == [[0x05]] + frames("k", "error", "this worker cannot hand off sessions"))
        try broker.send(to: worker, [[0x06]] + frames("k", "9"))
        #expect(try broker.next(from: worker) == [[0x06]] + frames("k", "error", "this worker cannot hand off sessions"))
        try broker.send(to: worker, [[0x04]] + frames("k"))
        #expect(try broker.call(worker, session("k")) == frames("1"))
    }
}
