import CZeroMQ

extension Socket {
    /// Makes this socket a CURVE server with the given key pair: peers must know its public key and
    /// handshake with CURVE; each connection is encrypted and the peer's public key goes to ZAP.
    ///
    /// Set before `bind`: options apply to connections made afterwards.
    public func useCurveServer(_ keys: CurveKeyPair) throws(ZMQError) {
        try setIntOption(ZMQ_CURVE_SERVER, 1)
        try setBytesOption(ZMQ_CURVE_SECRETKEY, keys.secretKey)
        try setBytesOption(ZMQ_CURVE_PUBLICKEY, keys.publicKey)
    }

    /// Makes this socket a CURVE client of a server whose public key is `credentials.serverKey`.
    ///
    /// Set before `connect`.
    public func useCurveClient(_ credentials: CurveClientCredentials) throws(ZMQError) {
        try setBytesOption(ZMQ_CURVE_SERVERKEY, credentials.serverKey)
        try setBytesOption(ZMQ_CURVE_PUBLICKEY, credentials.keys.publicKey)
        try setBytesOption(ZMQ_CURVE_SECRETKEY, credentials.keys.secretKey)
    }

    /// The ZAP domain: with one set, every connection attempt (also with the NULL mechanism) is put to the
    /// ZAP handler bound at `inproc://zeromq.zap.01` on this socket's context (see ``ZAPAuthenticator``).
    public func setZAPDomain(_ domain: String) throws(ZMQError) {
        try setBytesOption(ZMQ_ZAP_DOMAIN, Array(domain.utf8))
    }

    /// Connections the kernel queues for a listener before libzmq accepts them (`listen`'s backlog); beyond it
    /// a connecting peer retries later. Set before `bind`.
    public func setListenBacklog(_ connections: Int32) throws(ZMQError) {
        try setIntOption(ZMQ_BACKLOG, connections)
    }

    /// Milliseconds a new connection has to finish its ZMTP handshake before it is closed (0: no limit).
    public func setHandshakeInterval(milliseconds: Int32) throws(ZMQError) {
        try setIntOption(ZMQ_HANDSHAKE_IVL, milliseconds)
    }
}
