import BatonProtocol
import Foundation
import GRDB

/// A session key in the history database: TEXT when ``SessionKey/text`` is not nil, else a BLOB of the bytes.
extension SessionKey: DatabaseValueConvertible {
    /// TEXT or BLOB, as described above.
    public var databaseValue: DatabaseValue {
        text.map { $0.databaseValue } ?? Data(bytes).databaseValue
    }

    /// Reads a key stored as TEXT or BLOB; nil for any other value.
    public static func fromDatabaseValue(_ value: DatabaseValue) -> SessionKey? {
        switch value.storage {
        case .string(let text): SessionKey(bytes: Array(text.utf8))
        case .blob(let data): SessionKey(bytes: Array(data))
        case .null, .int64, .double: nil
        }
    }
}
