/// A worker's identity: its ZeroMQ routing id on the broker's backend.
///
/// Managed workers choose theirs (`BATON_WORKER_ID`, such as `w3-g2-1a2b`); a worker that sets none gets the
/// 5-byte id libzmq makes up. Everywhere Baton shows or records a worker it uses ``name``: one rendering.
public struct WorkerID: Hashable, Sendable, CustomStringConvertible {
    /// The routing id's bytes, as libzmq gives them.
    public let bytes: [UInt8]

    /// The worker with this routing id.
    @inline(__always)
    public init(routingID bytes: [UInt8]) { self.bytes = bytes }

    /// A worker whose routing id is `name`'s UTF-8 (the ids the supervisor gives its workers).
    public init(_ name: String) { bytes = Array(name.utf8) }

    /// The worker named `name` as ``name`` renders it: the text, or for an `ext-HEX` name the routing id those
    /// hex digits spell. Nil for an `ext-` name whose rest is not hex.
    public init?(name: String) {
        if name.hasPrefix(Self.externalPrefix) {
            guard let bytes = Hex.bytes(name.dropFirst(Self.externalPrefix.count)) else { return nil }
            self.bytes = bytes
        } else {
            bytes = Array(name.utf8)
        }
    }

    /// How the worker is shown and recorded (`worker_id` in the history database).
    ///
    /// A routing id that is printable UTF-8 is shown as its text. Any other — above all libzmq's own ids,
    /// which start with a zero byte — is shown as `ext-` and the id's lower-case hex (`ext-00e43c9869`), so
    /// every connection has a stable, readable, unambiguous name.
    public var name: String {
        if !bytes.isEmpty, let text = String(validating: bytes, as: UTF8.self),
           !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }),
           !text.hasPrefix(Self.externalPrefix)
        {
            return text
        }
        return Self.externalPrefix + Hex.lowercase(bytes)
    }

    /// ``name``.
    public var description: String { name }

    /// The prefix of the names given to routing ids that are not printable text.
    public static let externalPrefix = "ext-"
}
