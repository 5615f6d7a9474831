import CZeroMQ

extension Socket {
    /// Milliseconds a closed socket keeps trying to deliver queued messages (0: drop them at once).
    public var linger: Int32 {
        get { (try? intOption(ZMQ_LINGER)) ?? 0 }
        set { try? setIntOption(ZMQ_LINGER, newValue) }
    }

    /// The socket's routing id, as bytes (1–255 of them; the first must not be zero).
    public func setRoutingID(_ id: [UInt8]) throws(ZMQError) {
        try setBytesOption(ZMQ_ROUTING_ID, id)
    }

    /// The socket's routing id.
    public func routingID() throws(ZMQError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 256)
        var size = buffer.count
        let rc = buffer.withUnsafeMutableBytes { zmq_getsockopt(handle, ZMQ_ROUTING_ID, $0.baseAddress, &size) }
        if rc != 0 { throw ZMQError.last("zmq_getsockopt ROUTING_ID") }
        return Array(buffer.prefix(size))
    }

    /// Outgoing high-water mark in messages per peer (0: no limit).
    public func setSendHighWaterMark(_ value: Int32) throws(ZMQError) { try setIntOption(ZMQ_SNDHWM, value) }

    /// Incoming high-water mark in messages per peer (0: no limit).
    public func setReceiveHighWaterMark(_ value: Int32) throws(ZMQError) { try setIntOption(ZMQ_RCVHWM, value) }

    /// ROUTER only: a send to an unknown routing id fails with `EHOSTUNREACH` instead of being dropped.
    public func setRouterMandatory(_ on: Bool) throws(ZMQError) { try setIntOption(ZMQ_ROUTER_MANDATORY, on ? 1 : 0) }

    /// Largest inbound message in bytes; a peer that sends more is disconnected (-1: no limit).
    public func setMaxMessageSize(_ bytes: Int64) throws(ZMQError) {
        var value = bytes
        if zmq_setsockopt(handle, ZMQ_MAXMSGSIZE, &value, MemoryLayout<Int64>.size) != 0 {
            throw ZMQError.last("zmq_setsockopt MAXMSGSIZE")
        }
    }

    /// Milliseconds a blocking receive waits before returning nothing (-1: forever).
    public func setReceiveTimeout(milliseconds: Int32) throws(ZMQError) { try setIntOption(ZMQ_RCVTIMEO, milliseconds) }

    /// The endpoint the socket bound last, with the real port for `tcp://…:*`.
    public func lastEndpoint() throws(ZMQError) -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        let rc = buffer.withUnsafeMutableBytes { zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, $0.baseAddress, &size) }
        if rc != 0 { throw ZMQError.last("zmq_getsockopt LAST_ENDPOINT") }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    func intOption(_ option: Int32) throws(ZMQError) -> Int32 {
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        if zmq_getsockopt(handle, option, &value, &size) != 0 { throw ZMQError.last("zmq_getsockopt \(option)") }
        return value
    }

    func setIntOption(_ option: Int32, _ value: Int32) throws(ZMQError) {
        var value = value
        if zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) != 0 {
            throw ZMQError.last("zmq_setsockopt \(option)")
        }
    }

    func setBytesOption(_ option: Int32, _ bytes: [UInt8]) throws(ZMQError) {
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        if rc != 0 { throw ZMQError.last("zmq_setsockopt \(option)") }
    }
}
