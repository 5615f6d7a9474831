import BatonProtocol
import Broker
import Foundation
import Logging
import ZeroMQ

/// A real ``BrokerServer`` on loopback ports (heartbeats every 100 ms, liveness 3) and the real
/// `baton-example-worker` binary connected to it.
final class WorkerFixture {
    let server: BrokerServer
    let endpoints: BrokerServer.BoundEndpoints
    let context: Context
    let worker: WorkerProcess

    /// Starts the broker, then the worker with `arguments`; `backend: false` leaves `BATON_BACKEND` unset.
    init(_ arguments: [String], backend: Bool = true,
         _ configure: (inout BrokerServer.Options) -> Void = { _ in }) throws {
        var options = BrokerServer.Options(frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*")
        options.policy.heartbeatInterval = .milliseconds(100)
        options.policy.heartbeatLiveness = 3
        configure(&options)
        var logger = Logger(label: "example-worker-test")
        logger.logLevel = .critical
        server = try BrokerServer(options: options, logger: logger)
        endpoints = try server.start()
        context = try Context()
        worker = try WorkerProcess(arguments, backend: backend ? endpoints.backend : nil)
    }

    deinit {
        worker.end()
        server.stop()
        context.terminate()
    }

    /// The worker's process.
    var process: Process { worker.process }

    /// What the worker printed on stdout and stderr.
    var output: String { worker.output }

    /// Waits for the worker to exit; returns its termination status, or nil if it is still running after 10 s.
    func exitStatus() -> Int32? { worker.exitStatus() }

    /// Waits until the broker knows the worker and returns what it knows.
    @discardableResult
    func registered() throws -> WorkerSummary? {
        try worker.waitUntil("the worker is registered") { try server.statsBlocking().workers == 1 }
        return try server.workersBlocking().first
    }

    /// Sends one request of `frames` over a fresh REQ socket and returns the reply's frames.
    func call(_ frames: [[UInt8]]) throws -> [[UInt8]]? {
        let socket = try Socket(context, .req)
        defer { socket.close() }
        socket.linger = 0
        try socket.setReceiveTimeout(milliseconds: 10_000)
        try socket.connect(endpoints.frontend)
        try socket.send(frames: frames)
        return try socket.receive()?.frames
    }

    /// Sends one request of text frames and returns the reply as text frames.
    func call(_ texts: String...) throws -> [String] {
        try call(texts.map { Array($0.utf8) })?.map { String(decoding: $0, as: UTF8.self) } ?? ["<no reply>"]
    }
}
