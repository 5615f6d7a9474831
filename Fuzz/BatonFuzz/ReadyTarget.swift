import BatonProtocol
@testable import Broker

/// READY as the broker reads it, in both framings, with the capacity checked against a plain reading.
enum ReadyTarget {
    static func run(_ bytes: [UInt8]) {
        var script = ByteScript(bytes)
        let payload = script.frames(limit: 4)
        for framing in [WorkerFraming.request, .dealer] {
            let parsed = ReadyMessage.parse(payload[...], framing: framing)
            if parsed != ReadyMessage.parse(payload[...], framing: framing) { fuzzFailure("parse is not deterministic") }
            guard case .ready(let ready) = parsed else { continue }
            if !(1...WireProtocol.maxCapacity).contains(ready.capacity) { fuzzFailure("capacity \(ready.capacity)") }
            if framing == .request && (ready.heartbeating || ready.capacity != 1) {
                fuzzFailure("a REQ-framed READY with heartbeats or a capacity")
            }
            if ready.canHandOff && payload.count != 3 { fuzzFailure("handoff without a capabilities frame") }
            if payload.count > 1 && ready.capacity != expectedCapacity(payload[1]) {
                fuzzFailure("capacity \(ready.capacity) read from \(payload[1])")
            }
        }
        for frame in payload where ReadyMessage.capacity(frame) != expectedCapacity(frame) {
            fuzzFailure("capacity of \(frame) is \(String(describing: ReadyMessage.capacity(frame)))")
        }
    }

    /// Decimal digits without sign or leading zero, 1 … maxCapacity, read the obvious way.
    static func expectedCapacity(_ frame: [UInt8]) -> Int? {
        guard frame.first != UInt8(ascii: "0"), frame.allSatisfy({ (0x30...0x39).contains($0) }), frame.count < 10,
              let value = Int(String(decoding: frame, as: UTF8.self)), (1...WireProtocol.maxCapacity).contains(value)
        else { return nil }
        return value
    }
}
