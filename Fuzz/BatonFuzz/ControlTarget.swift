import Supervisor

/// Control JSON as the supervisor (requests) and `baton` (replies) read it: whatever decodes re-encodes and
/// decodes to the same value.
enum ControlTarget {
    static func run(_ bytes: [UInt8]) {
        roundTrip(ControlRequest.self, bytes)
        roundTrip(ReloadRequest.self, bytes)
        roundTrip(ControlReply.self, bytes)
    }

    static func roundTrip<Value: Codable & Equatable>(_ type: Value.Type, _ bytes: [UInt8]) {
        guard let value = ControlCodec.decode(type, from: bytes) else { return }
        let again = ControlCodec.decode(type, from: ControlCodec.encode(value))
        if again != value { fuzzFailure("\(type) does not survive encoding: \(value) became \(String(describing: again))") }
    }
}
