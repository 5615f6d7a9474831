import BatonProtocol

/// A worker's message about one session (DEALER framing, docs/protocol.md 2.5), as the broker reads it.
enum WorkerSessionMessage: Equatable {
    /// `[0x04][key]`: the worker ended the session.
    case end(key: SessionKey)
    /// `[0x05][key][status][data]`: the answer to EXPORT; `data` is the state, or the error text.
    case exported(key: SessionKey, ok: Bool, data: [UInt8])
    /// `[0x06][key][status]` or `[0x06][key][status][text]`: the answer to IMPORT (ok only without a text).
    case imported(key: SessionKey, ok: Bool, text: [UInt8])

    /// Reads a payload that starts with the command byte; nil if it is none of these.
    init?(_ payload: ArraySlice<[UInt8]>) {
        guard payload.count >= 2, let command = payload.first else { return nil }
        let key = SessionKey(bytes: payload[payload.startIndex + 1])
        let rest = payload.dropFirst(2)
        if command == WireProtocol.endByte && rest.isEmpty {
            self = .end(key: key)
        } else if command == WireProtocol.exportByte && rest.count == 2 {
            self = .exported(key: key, ok: rest.first == WireProtocol.statusOK, data: rest.last ?? [])
        } else if command == WireProtocol.importByte && (rest.count == 1 || rest.count == 2) {
            self = .imported(key: key, ok: rest.first == WireProtocol.statusOK && rest.count == 1,
                             text: rest.count == 2 ? rest.last ?? [] : [])
        } else {
            return nil
        }
    }
}
