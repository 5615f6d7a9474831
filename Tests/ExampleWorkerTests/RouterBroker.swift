import Foundation
import Testing
import ZeroMQ

/// A ROUTER socket on a loopback port standing in for the broker, with example worker processes connected
/// to it: a test sees exactly the frames each worker sends, and sends each exactly the frames it wants.
/// Heartbeats are read and skipped; this broker sends none (the workers are not managed, so they stay).
final class RouterBroker {
    /// An example worker process connected to this broker.
    struct Worker {
        /// Its routing id, learnt from its first message.
        let id: [UInt8]
        /// Its first message: READY.
        let ready: [[UInt8]]
        let process: WorkerProcess
    }

    private let context: Context
    private let socket: Socket
    private let endpoint: String
    /// Messages read while waiting for another worker's, by routing id.
    private var inbox: [[UInt8]: [[[UInt8]]]] = [:]

    init() throws {
        context = try Context()
        socket = try Socket(context, .router)
        socket.linger = 0
        try socket.setRouterMandatory(true)
        try socket.setReceiveTimeout(milliseconds: 100)
        try socket.bind("tcp://127.0.0.1:*")
        endpoint = try socket.lastEndpoint()
    }

    deinit {
        socket.close()
        context.terminate()
    }

    /// Starts `baton-example-worker` with `arguments` and waits for its first message.
    func start(_ arguments: [String]) throws -> Worker {
        let process = try WorkerProcess(arguments, backend: endpoint)
        let (id, ready) = try #require(try receive { inbox[$0] == nil }, "no READY from \(arguments)\n\(process.output)")
        inbox[id] = []
        return Worker(id: id, ready: ready, process: process)
    }

    /// The next message from `worker` other than a HEARTBEAT, without the routing id; nil after 10 s.
    func next(from worker: Worker) throws -> [[UInt8]]? {
        if let waiting = inbox[worker.id], !waiting.isEmpty { return inbox[worker.id]?.removeFirst() }
        return try receive { $0 == worker.id }?.frames
    }

    /// Sends `frames` to `worker`.
    func send(to worker: Worker, _ frames: [[UInt8]]) throws {
        try socket.send(frames: [worker.id] + frames)
    }

    /// Sends a request and returns the reply's body, checking that it came with the request's token.
    func call(_ worker: Worker, _ body: [[UInt8]]) throws -> [[UInt8]]? {
        let token = (0..<8).map { _ in UInt8.random(in: 0...255) }
        try send(to: worker, [token, []] + body)
        guard let reply = try next(from: worker) else { return nil }
        #expect(reply.prefix(2) == [token, []], "\(reply)")
        return Array(reply.dropFirst(2))
    }

    /// Reads until a message other than a HEARTBEAT comes from a peer `wanted` accepts (others' wait in the
    /// inbox); nil after 10 s.
    private func receive(from wanted: ([UInt8]) -> Bool) throws -> (id: [UInt8], frames: [[UInt8]])? {
        let deadline = ContinuousClock.now + .seconds(10)
        var frames: [[UInt8]] = []
        while ContinuousClock.now < deadline {
            guard try socket.receive(into: &frames), frames.count >= 2, frames.dropFirst() != [[0x02]] else { continue }
            let message = Array(frames.dropFirst())
            if wanted(frames[0]) { return (frames[0], message) }
            inbox[frames[0], default: []].append(message)
        }
        return nil
    }
}

/// Frames from text.
func frames(_ texts: String...) -> [[UInt8]] {
    texts.map { Array($0.utf8) }
}

/// The body of a session request of `key`.
func session(_ key: String, _ body: String = "play") -> [[UInt8]] {
    frames("BATON-SESSION", key, body)
}
