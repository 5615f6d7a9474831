import Foundation
import GRDB

/// A session key as the history database stores it: TEXT when the bytes are valid UTF-8 without control
/// characters (U+0000–U+001F, U+007F–U+009F), else a BLOB of the bytes. The same key is always stored the same
/// way, so `request.session = session.key` matches the requests of a session.
public struct SessionKey: Sendable, Hashable, DatabaseValueConvertible {
    /// The key's bytes, as the client sent them.
    public let bytes: [UInt8]
    /// The key as text, when it is stored as TEXT; nil when it is stored as a BLOB.
    public let text: String?

    /// Wraps a key's bytes.
    public init(bytes: [UInt8]) {
        self.bytes = bytes
        if let text = String(validating: bytes, as: UTF8.self),
           !text.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
        {
            self.text = text
        } else {
            text = nil
        }
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
        guard display.hasPrefix("x'"), display.hasSuffix("'"), display.utf8.count >= 3 else { return nil }
        let digits = Array(display.utf8.dropFirst(2).dropLast())
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return SessionKey(bytes: bytes)
    }

    /// Lower-case hex of the bytes.
    public var hex: String { Store.hex(bytes) }

    /// The text, or `x'HEX'` (as sqlite3 writes a BLOB literal) for a key stored as a BLOB.
    public var display: String { text ?? "x'\(hex)'" }

    /// TEXT or BLOB, as described above.
    public var databaseValue: DatabaseValue {
        text.map { $0.databaseValue } ?? Data(bytes).databaseValue
    }

    /// Reads a key stored as TEXT or BLOB.
    public static func fromDatabaseValue(_ value: DatabaseValue) -> SessionKey? {
        switch value.storage {
        case .string(let text): SessionKey(bytes: Array(text.utf8))
        case .blob(let data): SessionKey(bytes: Array(data))
        default: nil
        }
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
