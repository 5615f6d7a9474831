import Foundation
import Synchronization
import Testing
import ZeroMQ

@Suite("The ZeroMQ wrapper over real libzmq sockets", .serialized, .timeLimit(.minutes(1)))
struct SocketTests {
    /// A connected DEALER→ROUTER pair over tcp on an ephemeral loopback port.
    func withPair(_ body: (Socket, Socket) throws -> Void) throws {
        try withSocketPair(routingID: [0x00, 0xff, 0x00, 0x41], body)
    }

    @Test("multipart messages of binary frames, zero bytes and empty frames included, arrive intact")
    func binaryMultipart() throws {
        try withPair { (router: Socket, dealer: Socket) throws in
            let frames: [[UInt8]] = [[0, 0, 0], [], Array(0...255), [0xff], Array(repeating: 0, count: 100_000)]
            try dealer.send(Message(frames))
            try router.setReceiveTimeout(milliseconds: 5_000)
            let received = try #require(try router.receive())
            #expect(received.frames.first == [0x00, 0xff, 0x00, 0x41])
            #expect(Array(received.frames.dropFirst()) == frames)
        }
    }

    @Test("a non-blocking receive with nothing waiting returns nil instead of throwing EAGAIN")
    func nonBlockingReceive() throws {
        try withPair { (router: Socket, _: Socket) throws in
            #expect(try router.receive(dontWait: true) == nil)
            #expect(try router.receiveFrame(dontWait: true) == nil)
        }
    }

    @Test("poll returns 0 when its timeout passes and reports a socket readable when a message waits")
    func pollTimeoutAndReadiness() throws {
        try withPair { (router: Socket, dealer: Socket) throws in
            var poller = Poller()
            let item = poller.add(router)
            #expect(try poller.poll(timeoutMilliseconds: 20) == 0)
            #expect(!poller.isReady(item))
            try dealer.send(Message(strings: ["ping"]))
            #expect(try poller.poll(timeoutMilliseconds: 5_000) == 1)
            #expect(poller.isReady(item))
            // Left out by `limit`, a socket with a message waiting neither wakes the poll nor reports ready.
            #expect(try poller.poll(timeoutMilliseconds: 10, limit: 0) == 0)
            #expect(!poller.isReady(item))
        }
    }

    @Test("ROUTER_MANDATORY makes a send to an unknown routing id fail with EHOSTUNREACH")
    func routerMandatory() throws {
        try withPair { (router: Socket, _: Socket) throws in
            try router.setRouterMandatory(true)
            #expect {
                try router.send(Message(strings: ["nobody", "hello"]))
            } throws: { error in
                (error as? ZMQError)?.isHostUnreachable == true
            }
        }
    }

    @Test("without ROUTER_MANDATORY a send to an unknown peer is dropped, and the known peer gets only its own")
    func routerWithoutMandatory() throws {
        try withPair { (router: Socket, dealer: Socket) throws in
            try router.setReceiveTimeout(milliseconds: 5_000)
            try dealer.setReceiveTimeout(milliseconds: 5_000)
            // The router learns the dealer's routing id from its first message.
            #expect(try dealer.send(frames: [Array("hello".utf8)]))
            #expect(try router.receive()?.frames == [[0x00, 0xff, 0x00, 0x41], Array("hello".utf8)])
            #expect(try router.send(Message(strings: ["nobody", "dropped"])))
            #expect(try router.send(frames: [[0x00, 0xff, 0x00, 0x41], Array("for you".utf8), [], [0]]))
            // Messages to one peer keep their order: had the first gone anywhere, it would come first.
            #expect(try dealer.receive()?.frames == [Array("for you".utf8), [], [0]])
            #expect(try dealer.receive(dontWait: true) == nil)
        }
    }

    @Test("binding a taken endpoint fails with EADDRINUSE, an unknown transport EPROTONOSUPPORT, a bad one EINVAL")
    func bindErrors() throws {
        let context = try Context()
        defer { context.terminate() }
        let first = try Socket(context, .router)
        let second = try Socket(context, .router)
        defer {
            first.close()
            second.close()
        }
        try first.bind("tcp://127.0.0.1:*")
        let endpoint = try first.lastEndpoint()
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
        #expect { try second.bind(endpoint) } throws: { ($0 as? ZMQError)?.code == EADDRINUSE }
        // A well-formed endpoint of an unknown transport (a malformed one, without "://", is EINVAL).
        #expect { try second.bind("nonsense://x") } throws: { ($0 as? ZMQError)?.code == EPROTONOSUPPORT }
        #expect { try second.bind("no-transport") } throws: { ($0 as? ZMQError)?.code == EINVAL }
    }

    @Test("a routing id is bytes, and reads back as set")
    func routingID() throws {
        let context = try Context()
        defer { context.terminate() }
        let socket = try Socket(context, .dealer)
        defer { socket.close() }
        try socket.setRoutingID([1, 0, 2, 0])
        #expect(try socket.routingID() == [1, 0, 2, 0])
    }

    @Test("a blocking receive waits for a message sent later, and shutting the context down wakes it with ETERM")
    func blockedReceive() throws {
        let context = try Context()
        let endpoint = "inproc://blocked-\(UUID().uuidString)"
        let outcome = Mutex<[String]>([])
        let receivesStarted = Atomic<Int>(0)
        let threadID = Mutex<String?>(nil)
        let bound = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread {
            threadID.withLock { $0 = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self") }
            do {
                let socket = try Socket(context, .pull)
                defer { socket.close() }
                socket.linger = 0
                try socket.bind(endpoint)
                let waiting = try socket.receive(dontWait: true)
                outcome.withLock { $0.append(waiting == nil ? "nothing waiting" : "unexpected message") }
                bound.signal()
                receivesStarted.store(1, ordering: .sequentiallyConsistent)
                let first = try socket.receive()
                outcome.withLock { $0.append(first?.frames.map { String(decoding: $0, as: UTF8.self) }.joined() ?? "nil") }
                receivesStarted.store(2, ordering: .sequentiallyConsistent)
                _ = try socket.receive()
                outcome.withLock { $0.append("returned") }
            } catch let error as ZMQError {
                outcome.withLock { $0.append(error.isTerminated ? "ETERM" : "\(error)") }
            } catch {
                outcome.withLock { $0.append("\(error)") }
            }
            bound.signal()
            finished.signal()
        }
        thread.start()
        #expect(bound.wait(timeout: .now() + 10) == .success)
        let task = try #require(threadID.withLock { $0 }, "the receiving thread's /proc entry")

        // Asleep in the kernel after starting its receive, and the receive has not returned: it is blocked.
        #expect(waitUntil { receivesStarted.load(ordering: .sequentiallyConsistent) == 1 && isAsleep(task) })
        #expect(outcome.withLock { $0 } == ["nothing waiting"])
        let pusher = try Socket(context, .push)
        pusher.linger = 0
        try pusher.connect(endpoint)
        #expect(try pusher.send(frames: [Array("sent later".utf8)]))
        #expect(waitUntil { receivesStarted.load(ordering: .sequentiallyConsistent) == 2 && isAsleep(task) })
        #expect(outcome.withLock { $0 } == ["nothing waiting", "sent later"])

        context.shutdown()
        #expect(finished.wait(timeout: .now() + 10) == .success)
        pusher.close()
        context.terminate()
        #expect(outcome.withLock { $0 } == ["nothing waiting", "sent later", "ETERM"])
    }

    @Test("a receive timeout makes a blocking receive return nil")
    func receiveTimeout() throws {
        try withPair { (router: Socket, _: Socket) throws in
            try router.setReceiveTimeout(milliseconds: 30)
            #expect(try router.receive() == nil)
        }
    }

    @Test("ZMQError keeps errno and names the operation")
    func errorDescription() {
        let error = ZMQError(code: EAGAIN, operation: "zmq_send")
        #expect(error.isWouldBlock)
        #expect(!error.isTerminated)
        #expect(error.description.contains("zmq_send"))
        #expect(error.description.contains("errno \(EAGAIN)"))
    }
}


/// Polls `condition` every millisecond until it holds or 10 s pass; returns whether it held.
func waitUntil(_ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(10)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.001)
    }
    return condition()
}

/// Whether a thread (`/proc/thread-self`'s target, "PID/task/TID") is asleep in the kernel (state `S`).
func isAsleep(_ task: String) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(task)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")")
    else { return false }
    return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("S")
}
