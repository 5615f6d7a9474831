import BatonProtocol

/// A worker's READY as the broker reads it (docs/protocol.md 2.1 and 2.4).
///
/// `[""]["READY"]`, `[""][0x01]` (REQ framing), `["READY"]` and `[0x01]` (DEALER framing) are version 1: capacity
/// 1. A DEALER worker's `[0x01]` may carry its capacity and its capabilities: `[0x01][K]`, `[0x01][K][words]`.
struct ReadyMessage: Equatable {
    /// Whether the worker is held to heartbeat liveness (DEALER framing, `0x01`).
    var heartbeating: Bool
    /// Requests it may hold at once.
    var capacity: Int = 1
    /// Whether it declared the `handoff` capability.
    var canHandOff = false

    /// What a worker message that may be a READY is.
    enum Parsed: Equatable {
        /// Not a READY at all (a heartbeat, a reply, …).
        case other
        /// It starts like a READY but breaks its rules (a bad capacity, too many frames, a capacity in REQ
        /// framing): dropped as malformed, and the worker is not registered.
        case malformed
        /// A valid READY.
        case ready(ReadyMessage)
    }

    /// Reads the payload of a worker message (the frames after the routing id and, in REQ framing, the
    /// delimiter).
    static func parse(_ payload: ArraySlice<[UInt8]>, framing: WorkerFraming) -> Parsed {
        guard let first = payload.first, first == WireProtocol.readyByte || first == WireProtocol.readyText else {
            return .other
        }
        let heartbeating = framing == .dealer && first == WireProtocol.readyByte
        if payload.count == 1 { return .ready(ReadyMessage(heartbeating: heartbeating)) }
        guard heartbeating, payload.count <= 3,
              let capacity = capacity(payload[payload.startIndex + 1])
        else { return .malformed }
        var ready = ReadyMessage(heartbeating: true, capacity: capacity)
        if payload.count == 3 {
            let words = payload[payload.startIndex + 2].split(separator: UInt8(ascii: " "))
            ready.canHandOff = words.contains { $0.elementsEqual(WireProtocol.handoffCapability.utf8) }
        }
        return .ready(ready)
    }

    /// A capacity frame's value: ASCII decimal without sign or leading zeros, 1 … ``WireProtocol/maxCapacity``.
    static func capacity(_ frame: [UInt8]) -> Int? {
        let digits = String(WireProtocol.maxCapacity).utf8.count
        guard let first = frame.first, first != UInt8(ascii: "0"), frame.count <= digits else { return nil }
        var value = 0
        for byte in frame {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value <= WireProtocol.maxCapacity ? value : nil
    }
}
