import Foundation
import ZeroMQ

/// One ZeroMQ socket that a test drives by hand against a running broker, frame by frame: a client on the
/// frontend or a worker on the backend, well-behaved or not. Used from one thread.
final class WirePeer {
    let socket: Socket
    private(set) var isClosed = false

    /// Connects a socket of `type` to `endpoint`, with CURVE when `curve` is given.
    init(_ context: Context, _ type: SocketType, _ endpoint: String, curve: CurveClientCredentials? = nil,
         receiveHighWaterMark: Int32? = nil) throws {
        socket = try Socket(context, type)
        socket.linger = 0
        if let curve { try socket.useCurveClient(curve) }
        if let receiveHighWaterMark { try socket.setReceiveHighWaterMark(receiveHighWaterMark) }
        try socket.connect(endpoint)
    }

    deinit { close() }

    func close() {
        if !isClosed { socket.close() }
        isClosed = true
    }

    /// Sends frames given as text or bytes.
    func send(_ frames: [[UInt8]]) throws {
        try socket.send(frames: frames)
    }

    func send(_ frames: String...) throws {
        try send(frames.map { Array($0.utf8) })
    }

    /// The next message within `seconds`, or nil.
    func receive(seconds: Double = 10) throws -> [[UInt8]]? {
        try socket.setReceiveTimeout(milliseconds: Int32(seconds * 1000))
        return try socket.receive()?.frames
    }

    /// The next message within `seconds` as text frames, or nil.
    func receiveText(seconds: Double = 10) throws -> [String]? {
        try receive(seconds: seconds)?.map { String(decoding: $0, as: UTF8.self) }
    }

    // MARK: A worker's side of the protocol (docs/protocol.md, section 2)

    /// A request the broker sent a worker: its token and its body.
    struct Request {
        let token: [UInt8]
        let body: [String]
    }

    /// The next request within `seconds`, skipping the broker's heartbeats and session messages.
    func nextRequest(seconds: Double = 10) throws -> Request? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard let frames = try receive(seconds: max(deadline.timeIntervalSinceNow, 0.001)) else { return nil }
            if frames.count >= 2 && frames[1].isEmpty {
                return Request(token: frames[0], body: frames.dropFirst(2).map { String(decoding: $0, as: UTF8.self) })
            }
        }
        return nil
    }

    /// Answers a request, as a DEALER worker frames it.
    func reply(_ request: Request, _ body: [UInt8]) throws {
        try send([request.token, [], body])
    }

    static let ready: [UInt8] = [0x01]
    static let heartbeat: [UInt8] = [0x02]
    static let disconnect: [UInt8] = [0x03]
    static let end: [UInt8] = [0x04]
    /// RETURN: from a worker, `[0x07][token]…` gives back requests it did not start; the broker answers `[0x07]`.
    static let giveBack: [UInt8] = [0x07]
}
