import Broker
import Foundation
import Logging
import Synchronization
import Testing
import ZeroMQ

/// A real ``BrokerServer`` on ephemeral loopback ports, and helpers to attach real workers and clients.
final class LiveBroker {
    let server: BrokerServer
    let endpoints: BrokerServer.BoundEndpoints
    let context: Context
    private var workers: [EchoWorker] = []

    init(_ configure: (inout BrokerServer.Options) -> Void = { _ in }) throws {
        var options = BrokerServer.Options(frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*")
        configure(&options)
        var logger = Logger(label: "test-broker")
        logger.logLevel = .critical
        server = try BrokerServer(options: options, logger: logger)
        endpoints = try server.start()
        context = try Context()
    }

    /// Starts a REQ echo worker whose replies are prefixed with its name; waits until the broker knows it.
    /// The worker answers each request once `answerWhen` holds (polled), then after `delayMilliseconds`.
    @discardableResult
    func addWorker(_ name: String, delayMilliseconds: Int = 0,
                   answerWhen: @escaping @Sendable () -> Bool = { true }) throws -> EchoWorker {
        let before = try server.statsBlocking().workers
        let worker = EchoWorker(name: name, endpoint: endpoints.backend, context: context,
                                delayMilliseconds: delayMilliseconds, answerWhen: answerWhen)
        workers.append(worker)
        try waitUntil("worker \(name) registered") { try self.server.statsBlocking().workers > before }
        return worker
    }

    /// A client socket connected to the frontend.
    func client(_ type: SocketType = .dealer) throws -> Socket {
        let socket = try Socket(context, type)
        socket.linger = 0
        try socket.setReceiveTimeout(milliseconds: 5_000)
        try socket.connect(endpoints.frontend)
        return socket
    }

    /// Polls a condition until it holds or 10 s pass.
    func waitUntil(_ what: String, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if try condition() { return }
            Thread.sleep(forTimeInterval: 0.005)
        }
        Issue.record("timed out waiting until \(what)")
        throw CancellationError()
    }

    func close(_ sockets: Socket...) {
        for socket in sockets { socket.close() }
    }

    deinit {
        for worker in workers { worker.stop() }
        server.stop()
        context.terminate()
    }
}

/// A REQ worker in the lbbroker style on its own thread: READY, then echo `[token][""][prefix+body…]`.
final class EchoWorker: Sendable {
    let name: String
    private let stopping = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private let log = Mutex<[String]>([])

    init(name: String, endpoint: String, context: Context, delayMilliseconds: Int,
         answerWhen: @escaping @Sendable () -> Bool) {
        self.name = name
        let thread = Thread { [self] in
            defer { done.signal() }
            do {
                let socket = try Socket(context, .req)
                defer { socket.close() }
                socket.linger = 0
                try socket.setRoutingID(Array(name.utf8))
                try socket.setReceiveTimeout(milliseconds: 20)
                try socket.connect(endpoint)
                try socket.send(frame: Array("READY".utf8))
                while !stopping.load(ordering: .relaxed) {
                    guard let request = try socket.receive() else { continue }
                    while !answerWhen() && !stopping.load(ordering: .relaxed) { Thread.sleep(forTimeInterval: 0.001) }
                    if delayMilliseconds > 0 { Thread.sleep(forTimeInterval: Double(delayMilliseconds) / 1000) }
                    let body = request.frames.dropFirst(2)
                    log.withLock { $0.append(body.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "|")) }
                    try socket.send(frames: Array(request.frames.prefix(2)) + body.map { Array("\(name):".utf8) + $0 })
                }
            } catch {
                Issue.record("worker \(name) failed: \(error)")
            }
        }
        thread.start()
    }

    /// Bodies this worker has served, in order.
    var served: [String] { log.withLock { $0 } }

    func stop() {
        if !stopping.exchange(true, ordering: .relaxed) { done.wait() }
    }
}

/// A flag a test opens to let a held worker answer.
final class Gate: Sendable {
    private let state = Atomic<Bool>(false)

    func open() { state.store(true, ordering: .sequentiallyConsistent) }
    var isOpen: Bool { state.load(ordering: .sequentiallyConsistent) }
}

func frames(_ texts: String...) -> [[UInt8]] { texts.map { Array($0.utf8) } }
func texts(_ message: Message?) -> [String] { message?.frames.map { String(decoding: $0, as: UTF8.self) } ?? [] }
