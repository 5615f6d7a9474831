import BatonProtocol

/// A frontend message as the broker reads it, before any policy sees it (docs/protocol.md 1 and "Sessions").
enum ClientMessage {
    /// `[envelope…][""][body…]`: the frames as received (routing id first), where the delimiter is, and what
    /// the start of the body says about a session.
    case request(frames: [[UInt8]], delimiter: Int, session: SessionMarker)
    /// No delimiter, no routing id before it, or nothing after it: dropped, counted and logged.
    case malformed(frames: Int)

    /// What the start of a request's body says about its session.
    enum SessionMarker: Equatable {
        /// Not a session request.
        case none
        /// A session request with this key: `["BATON-SESSION"][key][body…]`.
        case key(SessionKey)
        /// `BATON-SESSION` with an empty or too long key, or no body after the key.
        case invalid
    }

    /// Reads a frontend message.
    init(_ frames: [[UInt8]]) {
        guard let delimiter = frames.firstIndex(where: { $0.isEmpty }), delimiter > 0, delimiter < frames.count - 1
        else {
            self = .malformed(frames: frames.count)
            return
        }
        self = .request(frames: frames, delimiter: delimiter,
                        session: Self.sessionMarker(of: frames[(delimiter + 1)...]))
    }

    /// Reads the session marker and key at the start of a request's body.
    static func sessionMarker(of body: ArraySlice<[UInt8]>) -> SessionMarker {
        guard let first = body.first, first.count == WireProtocol.sessionMarker.count,
              first == WireProtocol.sessionMarker
        else { return .none }
        guard body.count >= 3 else { return .invalid }
        let key = body[body.startIndex + 1]
        guard !key.isEmpty, key.count <= WireProtocol.maxSessionKeyBytes else { return .invalid }
        return .key(SessionKey(bytes: key))
    }
}
