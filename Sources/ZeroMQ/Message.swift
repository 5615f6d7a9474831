/// A multipart ZeroMQ message: an ordered list of binary frames.
///
/// Frames are bytes, never `String`: routing ids and payloads may contain any byte, zero included.
public struct Message: Hashable, Sendable, ExpressibleByArrayLiteral, CustomStringConvertible {
    /// The frames, first to last.
    public var frames: [[UInt8]]

    /// Creates a message from its frames.
    public init(_ frames: [[UInt8]]) {
        self.frames = frames
    }

    /// Creates a message from string literals or byte arrays, one per frame.
    public init(arrayLiteral elements: [UInt8]...) {
        self.frames = elements
    }

    /// Creates a message whose frames are the UTF-8 bytes of the given strings.
    public init(strings: [String]) {
        self.frames = strings.map { Array($0.utf8) }
    }

    /// The number of frames.
    public var count: Int { frames.count }

    /// Frames shown as text where printable, as hex otherwise, for logs and tests.
    public var description: String {
        "[" + frames.map(Message.render).joined(separator: "][") + "]"
    }

    /// Renders one frame for a human: printable ASCII as is, anything else as `0x…` hex.
    public static func render(_ frame: [UInt8]) -> String {
        if frame.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) {
            return String(decoding: frame, as: UTF8.self)
        }
        return "0x" + frame.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
