extension BrokerCore {
    /// A reply was dropped because its client did not read its replies (``ReplyBacklog``).
    public mutating func unreadReplyDropped() {
        stats.unreadRepliesDropped += 1
    }
}

extension PendingRequest {
    /// Bytes the client sent: every frame but the routing id the frontend put in front.
    public var clientBytes: Int { Self.size(of: frames.dropFirst()) }

    /// Bytes in a list of frames.
    static func size(of frames: some Sequence<[UInt8]>) -> Int {
        frames.reduce(0) { $0 + $1.count }
    }
}
