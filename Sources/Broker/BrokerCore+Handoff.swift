import BatonProtocol

extension BrokerCore {
    /// Stops giving a worker requests, as ``drainWorker(_:into:)``, and moves its sessions to `successor`
    /// when both workers can hand sessions off (docs/protocol.md 2.5).
    public mutating func drainWorker(_ id: [UInt8], successor: [UInt8]?, now: UInt64, into out: inout [BrokerAction]) {
        drainWorker(id, into: &out)
    }
}
