@testable import BatonWorker
import BatonProtocol
import Foundation
import Synchronization
import Testing

/// What the session hooks of a test worker were called with.
private final class HookLog: Sendable {
    private let calls = Mutex<[String]>([])

    func record(_ call: String) {
        calls.withLock { $0.append(call) }
    }

    var entries: [String] { calls.withLock { $0 } }

    /// Waits until `call` has been recorded; false after 10 s.
    func awaitCall(_ call: String) -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if entries.contains(call) { return true }
            Thread.sleep(forTimeInterval: 0.002)
        }
        return false
    }

    /// Hooks that record each call; EXPORT of `bad` and IMPORT of state `reject` throw.
    var hooks: SessionHooks {
        SessionHooks(export: { key in
            let name = String(decoding: key, as: UTF8.self)
            self.record("export \(name)")
            guard name != "bad" else { throw WorkerError("cannot export bad") }
            return Array("state of \(name)".utf8)
        }, import: { key, state in
            let (name, text) = (String(decoding: key, as: UTF8.self), String(decoding: state, as: UTF8.self))
            self.record("import \(name) \(text)")
            guard text != "reject" else { throw WorkerError("rejected") }
        }, end: { key in
            self.record("end \(String(decoding: key, as: UTF8.self))")
        })
    }
}

@Suite("BatonWorker sessions: keys, END, EXPORT and IMPORT against a ROUTER standing in for the broker",
       .serialized, .timeLimit(.minutes(1)))
struct WorkerSessionTests {
    private static let marker = "BATON-SESSION"

    @Test("a request is a session request only with the marker and a key of 1 to 255 bytes")
    func requestParsing() {
        let session = WorkerRequest(frames: frames(Self.marker, "room-1", "move", "e4"))
        #expect(session.session == Array("room-1".utf8) && session.body == frames("move", "e4"))
        #expect(session.frames == frames(Self.marker, "room-1", "move", "e4"))
        let plain = WorkerRequest(frames: frames("hello"))
        #expect(plain.session == nil && plain.body == frames("hello"))
        for notASession in [frames(Self.marker), frames(Self.marker, ""), [Array(Self.marker.utf8), [UInt8](repeating: 7, count: 256)]] {
            let request = WorkerRequest(frames: notASession)
            #expect(request.session == nil && request.body == notASession)
        }
        let longest = [UInt8](repeating: 7, count: 255)
        #expect(WorkerRequest(frames: [Array(Self.marker.utf8), longest]).session == longest)
    }

    @Test("the handler sees the session key and the body; EXPORT and IMPORT answer ok or error; a reply can end its session")
    func sessionMessages() throws {
        let peer = try RouterPeer()
        let log = HookLog()
        let worker = WorkerThread(peer, WorkerOptions(), sessions: log.hooks) { request in
            let key = request.session.map { String(decoding: $0, as: UTF8.self) } ?? "-"
            let reply = frames(key) + request.body
            return request.body == frames("game over") ? .replyAndEndSession(reply) : .reply(reply)
        }
        #expect(try peer.next() == [[0x01]] + frames("1", "handoff"))
        try peer.send([token(1), []] + frames(Self.marker, "k1", "hello"))
        #expect(try peer.next() == [token(1), []] + frames("k1", "hello"))
        try peer.send([token(2), []] + frames("plain"))
        #expect(try peer.next() == [token(2), []] + frames("-", "plain"))

        try peer.send([[0x05]] + frames("k1"))
        #expect(try peer.next() == [[0x05]] + frames("k1", "ok", "state of k1"))
        try peer.send([[0x05]] + frames("bad"))
        #expect(try peer.next() == [[0x05]] + frames("bad", "error", "cannot export bad"))
        try peer.send([[0x06]] + frames("k2", "saved"))
        #expect(try peer.next() == [[0x06]] + frames("k2", "ok"))
        try peer.send([[0x06], Array("k3".utf8), []])
        #expect(try peer.next() == [[0x06]] + frames("k3", "ok"), "an empty state is a state")
        try peer.send([[0x06]] + frames("k4", "reject"))
        #expect(try peer.next() == [[0x06]] + frames("k4", "error", "rejected"))

        // The handler ends k1: the reply, then END; and the end hook frees it.
        try peer.send([token(3), []] + frames(Self.marker, "k1", "game over"))
        #expect(try peer.next() == [token(3), []] + frames("k1", "game over"))
        #expect(try peer.next() == [[0x04]] + frames("k1"))
        #expect(log.awaitCall("end k1"))
        // The broker ends k2 (idle, or moved away).
        try peer.send([[0x04]] + frames("k2"))
        #expect(log.awaitCall("end k2"))
        #expect(log.entries == ["export k1", "export bad", "import k2 saved", "import k3 ", "import k4 reject",
                                "end k1", "end k2"])
        try worker.stop(peer)
    }

    @Test("without handoff hooks EXPORT and IMPORT are answered with an error; a reply still ends its session")
    func withoutHandoff() throws {
        let log = HookLog()
        for sessions in [nil, SessionHooks(end: { log.record("end \(String(decoding: $0, as: UTF8.self))") })] {
            let peer = try RouterPeer()
            let worker = WorkerThread(peer, WorkerOptions(), sessions: sessions) { _ in .replyAndEndSession(frames("over")) }
            #expect(try peer.next() == [[0x01]])
            try peer.send([[0x05]] + frames("k"))
            #expect(try peer.next() == [[0x05]] + frames("k", "error", "this worker cannot hand off sessions"))
            try peer.send([[0x06]] + frames("k", "state"))
            #expect(try peer.next() == [[0x06]] + frames("k", "error", "this worker cannot hand off sessions"))
            try peer.send([[0x04]] + frames("k"))
            try peer.send([token(1), []] + frames(Self.marker, "k", "x"))
            #expect(try peer.next() == [token(1), []] + frames("over"))
            #expect(try peer.next() == [[0x04]] + frames("k"))
            try peer.send([token(2), []] + frames("no session"))
            #expect(try peer.next() == [token(2), []] + frames("over"), "no END for a request without a session")
            try worker.stop(peer)
        }
        #expect(log.entries == ["end k", "end k"], "the END from the broker, then the one the reply asked for")
    }

    @Test("unknown and malformed broker messages are ignored, and the worker goes on serving")
    func malformedMessages() throws {
        let peer = try RouterPeer()
        let log = HookLog()
        let worker = WorkerThread(peer, WorkerOptions(), sessions: log.hooks) { .reply($0.frames) }
        #expect(try peer.next() == [[0x01]] + frames("1", "handoff"))
        // (An IMPORT with an empty key, `[0x06][""][state]`, cannot be told from a request with token 0x06.)
        let garbage: [[[UInt8]]] = [
            [[0x04]], [[0x05]], [[0x06]] + frames("k"), [[0x05]] + frames("k", "extra"), [[0x04], []],
            [[0x09]] + frames("k"), [[0x04], [UInt8](repeating: 1, count: 256)],
            [[], []] + frames("no token"), frames("READY"), [[0x02], []],
        ]
        for message in garbage { try peer.send(message) }
        try peer.send([token(1), []] + frames("still here"))
        #expect(try peer.next() == [token(1), []] + frames("still here"))
        try worker.stop(peer)
        #expect(log.entries.isEmpty, "no hook ran: \(log.entries)")
    }

    @Test("a session's hooks wait for its request in progress; other sessions' requests go on meanwhile")
    func hooksWaitForTheirSession() throws {
        let peer = try RouterPeer()
        let gate = Gate()
        let busy = Mutex<Set<[UInt8]>>([])
        let overlaps = Mutex<[String]>([])
        let check: @Sendable (String, [UInt8]) -> Void = { hook, key in
            if busy.withLock({ $0.contains(key) }) { overlaps.withLock { $0.append(hook) } }
        }
        let hooks = SessionHooks(export: { key in check("export", key); return [] },
                                 import: { key, _ in check("import", key) }, end: { key in check("end", key) })
        var options = WorkerOptions()
        options.capacity = 4
        let worker = WorkerThread(peer, options, sessions: hooks) { request in
            guard let key = request.session else { return .reply(frames("none")) }
            busy.withLock { _ = $0.insert(key) }
            defer { busy.withLock { _ = $0.remove(key) } }
            return .reply(frames(gate.pass(String(decoding: key, as: UTF8.self)) ? "served" : "gate timed out"))
        }
        #expect(try peer.next() == [[0x01]] + frames("4", "handoff"))
        try peer.send([token(1), []] + frames(Self.marker, "a", "x"))
        #expect(gate.awaitArrivals(1))
        try peer.send([[0x05]] + frames("a"))
        try peer.send([[0x06]] + frames("a", "s"))
        try peer.send([[0x04]] + frames("a"))
        // The hooks of `a` have threads free to run on, yet they wait; a request of `b` does not.
        try peer.send([token(2), []] + frames(Self.marker, "b", "y"))
        gate.open("b")
        #expect(try peer.next() == [token(2), []] + frames("served"))
        gate.open("a")
        #expect(try peer.next() == [token(1), []] + frames("served"))
        #expect(try peer.next() == [[0x05]] + frames("a", "ok", ""))
        #expect(try peer.next() == [[0x06]] + frames("a", "ok"))
        try worker.stop(peer)
        #expect(overlaps.withLock { $0 }.isEmpty, "hooks ran during their session's request")
    }

    @Test("the handler pool runs jobs of one key one at a time, in the order they came")
    func poolKeepsKeyOrder() {
        let done = DispatchSemaphore(value: 0)
        let pool = HandlerPool<Int>(limit: 8, name: "test-pool") { done.signal() }
        defer { pool.close() }
        let running = Atomic<Int>(0)
        let overlapped = Atomic<Bool>(false)
        for number in 0..<200 {
            pool.submit(key: Array("one key".utf8)) {
                if running.add(1, ordering: .sequentiallyConsistent).newValue > 1 {
                    overlapped.store(true, ordering: .relaxed)
                }
                defer { running.subtract(1, ordering: .sequentiallyConsistent) }
                return number
            }
        }
        var finished: [Int] = []
        while finished.count < 200, done.wait(timeout: .now() + 10) == .success {
            finished += pool.takeFinished()
        }
        #expect(finished == Array(0..<200))
        let overlaps = overlapped.load(ordering: .relaxed)
        #expect(!overlaps)
    }
}
