import BatonProtocol

/// A message from the broker, as the worker reads it (docs/protocol.md, 2.2).
enum BrokerMessage: Equatable {
    /// HEARTBEAT `[0x02]`.
    case heartbeat
    /// A request `[token][""][body…]`.
    case request(token: [UInt8], frames: [[UInt8]])
    /// END `[0x04][key]`: forget this session.
    case end(key: [UInt8])
    /// EXPORT `[0x05][key]`: send this session's state.
    case export(key: [UInt8])
    /// IMPORT `[0x06][key][state]`: take over this session.
    case `import`(key: [UInt8], state: [UInt8])
    /// RETURN `[0x07]`: the broker took back what this worker returned, and sends it no new request.
    case returned
    /// Anything else; the text says what it looked like, for the log.
    case malformed(String)

    /// Reads the frames after any REQ framing. `sessionMessages`: END, EXPORT and IMPORT are understood
    /// (DEALER framing only).
    init(_ payload: ArraySlice<[UInt8]>, sessionMessages: Bool) {
        let frames = Array(payload)
        if frames == [WireProtocol.heartbeatByte] {
            self = .heartbeat
        } else if sessionMessages, frames == [WireProtocol.returnByte] {
            self = .returned
        } else if frames.count >= 3, frames[1].isEmpty, !frames[0].isEmpty {
            self = .request(token: frames[0], frames: Array(frames[2...]))
        } else if sessionMessages, frames.count >= 2, WorkerRequest.isValidKey(frames[1]) {
            switch (frames[0], frames.count) {
            case (WireProtocol.endByte, 2): self = .end(key: frames[1])
            case (WireProtocol.exportByte, 2): self = .export(key: frames[1])
            case (WireProtocol.importByte, 3): self = .import(key: frames[1], state: frames[2])
            default: self = .malformed(Self.describe(frames))
            }
        } else {
            self = .malformed(Self.describe(frames))
        }
    }

    private static func describe(_ frames: [[UInt8]]) -> String {
        let first = frames.first.map { Hex.lowercase($0.prefix(8)) } ?? "-"
        return "\(frames.count) frames, first \(first)"
    }
}

/// The messages a worker sends (docs/protocol.md, 2.1), in DEALER framing.
enum WorkerWire {
    /// READY: `[0x01]` for capacity 1 without capabilities, `[0x01][K]` or `[0x01][K]["handoff"]`
    /// otherwise; `["READY"]` without heartbeats (the caller adds the REQ framing).
    static func ready(capacity: Int, handoff: Bool, heartbeats: Bool) -> [[UInt8]] {
        guard heartbeats else { return [WireProtocol.readyText] }
        guard capacity != 1 || handoff else { return [WireProtocol.readyByte] }
        let frames = [WireProtocol.readyByte, Array(String(capacity).utf8)]
        return handoff ? frames + [Array(WireProtocol.handoffCapability.utf8)] : frames
    }

    /// A reply `[token][""][body…]`; an empty body is sent as one empty frame.
    static func reply(token: [UInt8], body: [[UInt8]]) -> [[UInt8]] {
        [token, WireProtocol.delimiter] + (body.isEmpty ? [[]] : body)
    }

    /// The reply to a request whose handler threw: `[token][""]["BATON-ERR"]["handler-error"][text]`.
    static func handlerError(token: [UInt8], text: String) -> [[UInt8]] {
        reply(token: token, body: [WireProtocol.errorMarker, Array(WireProtocol.handlerErrorCode.utf8), Array(text.utf8)])
    }

    /// RETURN `[0x07][token]…`: this worker is leaving and gives back these requests, which it did not start.
    static func returned(tokens: [[UInt8]]) -> [[UInt8]] {
        [WireProtocol.returnByte] + tokens
    }

    /// END `[0x04][key]`: this worker ended the session.
    static func end(key: [UInt8]) -> [[UInt8]] {
        [WireProtocol.endByte, key]
    }

    /// The answer to EXPORT: `[0x05][key]["ok"][state]` or `[0x05][key]["error"][text]`.
    static func exportAnswer(key: [UInt8], _ result: Result<[UInt8], WorkerError>) -> [[UInt8]] {
        switch result {
        case .success(let state): [WireProtocol.exportByte, key, WireProtocol.statusOK, state]
        case .failure(let error): [WireProtocol.exportByte, key, WireProtocol.statusError, Array(error.description.utf8)]
        }
    }

    /// The answer to IMPORT: `[0x06][key]["ok"]` or `[0x06][key]["error"][text]`.
    static func importAnswer(key: [UInt8], _ result: Result<Void, WorkerError>) -> [[UInt8]] {
        switch result {
        case .success: [WireProtocol.importByte, key, WireProtocol.statusOK]
        case .failure(let error): [WireProtocol.importByte, key, WireProtocol.statusError, Array(error.description.utf8)]
        }
    }
}
