/// A session's key: the bytes a client puts after `BATON-SESSION` (docs/protocol.md, "Sessions"), 1 to
/// ``WireProtocol/maxSessionKeyBytes`` of them.
///
/// Shown as its text when the bytes are valid UTF-8 without control characters (U+0000–U+001F,
/// U+007F–U+009F), else as `x'HEX'`, the way sqlite3 writes a BLOB; the history database stores the same key
/// the same way (TEXT or BLOB), so `request.session = session.key` matches the requests of a session.
public struct SessionKey: Hashable, Sendable, CustomStringConvertible {
    /// The key's bytes, as the client sent them.
    public let bytes: [UInt8]

    /// Wraps a key's bytes.
    @inline(__always)
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The key as text, when it is shown and stored as text; nil when it is shown as `x'HEX'` and stored as a
    /// BLOB.
    public var text: String? {
        guard let text = String(validating: bytes, as: UTF8.self),
              !text.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
        else { return nil }
        return text
    }

    /// The keys whose ``display`` is `display`: the text key, and the key stored as a BLOB when `display` is
    /// such a key's `x'HEX'` form (either case), since the text `x'00'` is a key too.
    public static func keys(displayedAs display: String) -> [SessionKey] {
        let text = SessionKey(bytes: Array(display.utf8))
        let blob = blob(display)
        return (text.text != nil ? [text] : []) + (blob.flatMap { $0.text == nil ? [$0] : nil } ?? [])
    }

    /// The key `x'HEX'` stands for, if it is one.
    private static func blob(_ display: String) -> SessionKey? {
        guard display.hasPrefix("x'"), display.hasSuffix("'"), display.utf8.count >= 3,
              let bytes = Hex.bytes(display.dropFirst(2).dropLast())
        else { return nil }
        return SessionKey(bytes: bytes)
    }

    /// Lower-case hex of the bytes.
    public var hex: String { Hex.lowercase(bytes) }

    /// The text, or `x'HEX'` (as sqlite3 writes a BLOB literal) for a key stored as a BLOB.
    public var display: String { text ?? "x'\(hex)'" }

    /// ``display``.
    public var description: String { display }
}
