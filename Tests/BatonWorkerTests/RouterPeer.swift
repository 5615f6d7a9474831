import BatonProtocol
import Foundation
import Testing
import ZeroMQ

/// A ROUTER socket on a loopback port standing in for the broker: a test sees exactly the frames a worker
/// sends, and sends it exactly the frames it wants. It talks to the first peer it hears from.
final class RouterPeer {
    /// Where the worker connects.
    let endpoint: String
    private let context: Context
    private let socket: Socket
    private var worker: [UInt8]?
    /// HEARTBEATs received so far.
    private(set) var heartbeats = 0

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

    /// The worker's next message other than a HEARTBEAT (counted), without the routing id; nil after 30 s
    /// (async handlers run on the concurrency pool, which the suites beside these tests may keep busy a while).
    func next() throws -> [[UInt8]]? {
        let deadline = ContinuousClock.now + .seconds(30)
        var frames: [[UInt8]] = []
        while ContinuousClock.now < deadline {
            guard try socket.receive(into: &frames), frames.count >= 2 else { continue }
            worker = worker ?? frames[0]
            let message = Array(frames.dropFirst())
            if message == [WireProtocol.heartbeatByte] {
                heartbeats += 1
            } else {
                return message
            }
        }
        return nil
    }

    /// Receives until `count` more HEARTBEATs have come; false if any other message comes first, or 10 s pass.
    func awaitHeartbeats(_ count: Int) throws -> Bool {
        let target = heartbeats + count
        let deadline = ContinuousClock.now + .seconds(30)
        var frames: [[UInt8]] = []
        while heartbeats < target && ContinuousClock.now < deadline {
            guard try socket.receive(into: &frames) else { continue }
            guard Array(frames.dropFirst()) == [WireProtocol.heartbeatByte] else { return false }
            heartbeats += 1
        }
        return heartbeats >= target
    }

    /// Sends `frames` to the worker (after its routing id).
    func send(_ frames: [[UInt8]]) throws {
        let worker = try #require(worker, "the worker has not said anything yet")
        try socket.send(frames: [worker] + frames)
    }
}

/// Frames from text.
func frames(_ texts: String...) -> [[UInt8]] {
    texts.map { Array($0.utf8) }
}

/// The token of request `number`.
func token(_ number: Int) -> [UInt8] {
    WireProtocol.token(for: UInt64(number))
}
