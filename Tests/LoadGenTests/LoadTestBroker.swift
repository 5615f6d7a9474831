import Broker
import Foundation
import Logging
import Synchronization
import Testing
import ZeroMQ

/// A real ``BrokerServer`` on loopback ports with in-process REQ workers, each replying with `transform(body)`.
final class LoadTestBroker {
    typealias Transform = @Sendable ([[UInt8]]) -> [[UInt8]]

    let server: BrokerServer
    let frontend: String
    private let context: Context
    private let stopping = Flag()
    private let stopped = DispatchSemaphore(value: 0)
    private let workerCount: Int

    init(workers: [Transform], _ configure: (inout BrokerServer.Options) -> Void = { _ in }) throws {
        var options = BrokerServer.Options(frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*")
        configure(&options)
        var logger = Logger(label: "loadgen-test")
        logger.logLevel = .critical
        server = try BrokerServer(options: options, logger: logger)
        let endpoints = try server.start()
        frontend = endpoints.frontend
        context = try Context()
        workerCount = workers.count
        for transform in workers {
            let thread = Thread { [context, stopping, stopped] in
                defer { stopped.signal() }
                Self.serve(endpoints.backend, context: context, stopping: stopping, transform)
            }
            thread.start()
        }
        let deadline = Date().addingTimeInterval(10)
        while try server.statsBlocking().workers < workers.count && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.005)
        }
        try #require(try server.statsBlocking().workers == workers.count, "every worker registered")
    }

    /// One worker: READY, then each request `[token][""][body…]` answered `[token][""][transform(body)…]`.
    private static func serve(_ backend: String, context: Context, stopping: Flag, _ transform: Transform) {
        do {
            let socket = try Socket(context, .req)
            defer { socket.close() }
            socket.linger = 0
            try socket.setReceiveTimeout(milliseconds: 20)
            try socket.connect(backend)
            try socket.send(frame: Array("READY".utf8))
            while !stopping.isSet {
                guard let request = try socket.receive(), request.frames.count >= 3 else { continue }
                try socket.send(frames: Array(request.frames.prefix(2)) + transform(Array(request.frames.dropFirst(2))))
            }
        } catch {
            Issue.record("worker failed: \(error)")
        }
    }

    deinit {
        stopping.set()
        for _ in 0..<workerCount { stopped.wait() }
        server.stop()
        context.terminate()
    }
}

/// A flag set once, from any thread.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

/// A thread-safe count, for workers that change behaviour by request number.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)

    /// The next number: 1, 2, 3, …
    func next() -> Int { value.add(1, ordering: .relaxed).newValue }
}
