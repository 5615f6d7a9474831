import ZeroMQ

/// What load to generate.
public struct LoadOptions: Sendable {
    /// The broker's frontend endpoint.
    public var endpoint: String
    /// Concurrent clients (one DEALER socket each).
    public var clients = 16
    /// Requests each client keeps in flight.
    public var window = 1
    /// Seconds of measured sending (after the warm-up); ignored when ``total`` is set.
    public var duration: Double = 5
    /// Stop after this many requests in all (warm-up included), instead of after ``duration``.
    public var total: Int?
    /// Seconds at the start whose requests are sent and checked but not measured.
    public var warmup: Double = 0.5
    /// Bytes in each request body (at least 16: client, slot and sequence number, then a pattern).
    public var size = 64
    /// Seconds to wait for outstanding replies once sending stops; what is still missing then is lost.
    public var drainTimeout: Double = 5
    /// Whether every request belongs to a session (`["BATON-SESSION"][key]` before the body), one key per
    /// client and window slot, so each key has one request in flight; echo workers send the frames back.
    public var sessions = false
    /// CURVE towards a broker that requires it (every client uses the same key pair); nil: no CURVE.
    public var curve: CurveClientCredentials?

    /// Creates options for a broker endpoint with the defaults above.
    public init(endpoint: String) {
        self.endpoint = endpoint
    }
}
