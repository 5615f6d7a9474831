import CZeroMQ

extension Socket {
    /// Receives one whole multipart message into `frames` (cleared first), and sets `peerAddress` to the
    /// address of the peer that sent it, as libzmq reports it in the message's `Peer-Address` property (nil
    /// when the transport gives none).
    ///
    /// For an ipc peer on Linux the address ends in `:uid:gid:pid`: see ``PeerCredentials``. Every frame is
    /// asked for the property, since a ROUTER's routing-id frame lacks it once the socket has been polled.
    /// Returns `false` when nothing is waiting (`dontWait`) or a receive timeout expired.
    public func receive(into frames: inout [[UInt8]], peerAddress: inout String?,
                        dontWait: Bool = false) throws(ZMQError) -> Bool {
        frames.removeAll(keepingCapacity: true)
        peerAddress = nil
        guard let first = try receiveFrame(dontWait: dontWait) else { return false }
        frames.append(first)
        peerAddress = receivedPeerAddress
        while moreToReceive {
            guard let next = try receiveFrame(dontWait: false) else { break }
            frames.append(next)
            if peerAddress == nil { peerAddress = receivedPeerAddress }
        }
        return true
    }

    /// The `Peer-Address` property of the frame received last, if it has one.
    private var receivedPeerAddress: String? {
        zmq_msg_gets(scratch, "Peer-Address").map { String(cString: $0) }
    }
}
