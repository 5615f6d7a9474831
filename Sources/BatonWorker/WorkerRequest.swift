import BatonProtocol

/// One request as a handler sees it: its session key, if it belongs to a session, and its body.
///
/// A session request reaches the worker as `["BATON-SESSION"][key][body…]` (docs/protocol.md, 2.5): then
/// ``session`` is the key and ``body`` the frames after it. Any other request has no session and its body is
/// every frame. A body that starts with the marker but has no valid key (empty, or longer than 255 bytes)
/// is not a session request: the broker never sends one, and the handler sees it whole.
public struct WorkerRequest: Sendable, Equatable {
    /// The session key (1 to 255 bytes), or nil for a request without a session.
    public let session: [UInt8]?
    /// The body: the frames after the marker and the key for a session request, all frames otherwise.
    public let body: [[UInt8]]
    /// The frames as the broker sent them, marker and key included.
    public let frames: [[UInt8]]

    /// Reads a request from the body frames the broker sent (everything after the token and the delimiter).
    public init(frames: [[UInt8]]) {
        self.frames = frames
        if frames.count >= 2, frames[0] == WireProtocol.sessionMarker, Self.isValidKey(frames[1]) {
            session = frames[1]
            body = Array(frames.dropFirst(2))
        } else {
            session = nil
            body = frames
        }
    }

    /// Whether `key` can name a session: 1 to 255 bytes.
    static func isValidKey(_ key: [UInt8]) -> Bool {
        (1...WireProtocol.maxSessionKeyBytes).contains(key.count)
    }
}

/// What a handler returns.
public enum WorkerReply: Sendable, Equatable {
    /// Reply with these body frames.
    case reply([[UInt8]])
    /// Reply with these frames, then stop the worker: it takes no new requests, answers the ones it holds,
    /// says DISCONNECT and returns ``WorkerExit/stopRequested``.
    case replyAndStop([[UInt8]])
    /// Reply with these frames, then end the request's session: the worker tells the broker END
    /// (`[0x04][key]`) and calls ``SessionHooks/end``. For a request without a session this is `.reply`.
    case replyAndEndSession([[UInt8]])

    /// The body frames to send.
    var frames: [[UInt8]] {
        switch self {
        case .reply(let frames), .replyAndStop(let frames), .replyAndEndSession(let frames): frames
        }
    }
}
