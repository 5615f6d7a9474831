import Foundation

/// A request on the supervisor's control socket (docs/protocol.md, "Control protocol").
///
/// On the wire a request is `[""][JSON]` from a DEALER socket, the JSON being this enum as `Codable` encodes it:
/// `{"status":{}}`, `{"stop":{}}`, `{"reload":{"_0":{…ReloadRequest…}}}`.
public enum ControlRequest: Codable, Sendable, Equatable {
    /// The supervisor's slots, broker and history counters.
    case status
    /// A graceful shutdown, as SIGTERM.
    case stop
    /// A rolling update; answered with progress lines, then its outcome.
    case reload(ReloadRequest)
}

/// An answer on the control socket: `[""][JSON]`, one per request, except a reload, which gets any number of
/// ``progress(_:wait:)`` answers before its ``reloaded(_:)`` or ``refused(_:)``.
public enum ControlReply: Codable, Sendable, Equatable {
    /// The answer to ``ControlRequest/status``.
    case status(StatusReport)
    /// The answer to ``ControlRequest/stop``: the supervisor's pid, to wait for.
    case stopping(pid: Int32)
    /// A step of a running reload, with what it waits for now and how long it will (nil from supervisors
    /// that do not say). While a reload waits, this is sent again every few seconds with the wait updated.
    case progress(String, wait: ReloadWait? = nil)
    /// A reload finished: the new generation serves in every slot.
    case reloaded(String)
    /// The request was refused or failed (a reload rolled back, one already running, a malformed request).
    case refused(String)
    /// The peer may not send commands: it runs as neither the supervisor's uid nor root (docs/security.md).
    case denied(String)
}

/// Encoding and decoding of control messages as single JSON frames.
public enum ControlCodec {
    /// The JSON frame of a request or reply.
    public static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Every control message is plain data; encoding cannot fail.
        return (try? Array(encoder.encode(value))) ?? []
    }

    /// Decodes a frame; nil if it is not a valid message of that type.
    public static func decode<Value: Decodable>(_ type: Value.Type, from frame: [UInt8]) -> Value? {
        try? JSONDecoder().decode(type, from: Data(frame))
    }
}
