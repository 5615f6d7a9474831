import Foundation
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

    @Test("without ROUTER_MANDATORY a send to an unknown peer is silently dropped")
    func routerWithoutMandatory() throws {
        try withPair { (router: Socket, _: Socket) throws in
            #expect(try router.send(Message(strings: ["nobody", "hello"])))
        }
    }

    @Test("binding an endpoint that is taken fails with EADDRINUSE, and a bad one with EINVAL or EPROTONOSUPPORT")
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
        #expect { try second.bind("nonsense://x") } throws: { error in
            guard let error = error as? ZMQError else { return false }
            return error.code == EPROTONOSUPPORT || error.code == EINVAL
        }
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

    @Test("shutting the context down wakes a blocked receive with ETERM, then close and terminate return")
    func cleanShutdown() async throws {
        let context = try Context()
        let outcome = Mutex<String>("")
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread {
            do {
                let socket = try Socket(context, .pull)
                socket.linger = 0
                try socket.bind("inproc://blocked")
                defer { socket.close() }
                _ = try socket.receive()
                outcome.withLock { $0 = "returned" }
            } catch let error as ZMQError {
                outcome.withLock { $0 = error.isTerminated ? "ETERM" : "\(error)" }
            } catch {
                outcome.withLock { $0 = "\(error)" }
            }
            finished.signal()
        }
        thread.start()
        try await Task.sleep(for: .milliseconds(50))
        context.shutdown()
        #expect(finished.wait(timeout: .now() + 10) == .success)
        context.terminate()
        #expect(outcome.withLock { $0 } == "ETERM")
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

import Synchronization
