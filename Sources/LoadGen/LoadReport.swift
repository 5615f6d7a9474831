/// What a load run measured.
public struct LoadReport: Sendable, Codable, Equatable {
    /// Requests sent, warm-up included.
    public var sent: UInt64 = 0
    /// Replies that matched their request byte for byte.
    public var matched: UInt64 = 0
    /// Replies whose body did not match the request they answered.
    public var mismatched: UInt64 = 0
    /// `BATON-ERR` replies, by error code.
    public var errors: [String: UInt64] = [:]
    /// Requests that got no reply at all.
    public var lost: UInt64 = 0
    /// Seconds measured (after warm-up).
    public var seconds: Double = 0
    /// Replies to measured requests per second.
    public var throughput: Double = 0
    /// Latency percentiles of measured requests, in microseconds.
    public var p50: UInt64 = 0
    /// 99th percentile latency, µs.
    public var p99: UInt64 = 0
    /// 99.9th percentile latency, µs.
    public var p999: UInt64 = 0
    /// Largest latency, µs.
    public var max: UInt64 = 0

    /// Creates an empty report.
    public init() {}

    /// Error replies of every code.
    public var errorCount: UInt64 { errors.values.reduce(0, +) }

    /// Whether every request got its own, correct reply.
    public var isClean: Bool { lost == 0 && mismatched == 0 && errorCount == 0 }

    /// One line of `key=value` pairs, in the style of the reference C load generator.
    public var keyValueLine: String {
        let rps = (throughput * 10).rounded() / 10
        return "throughput_rps=\(rps) p50_us=\(p50) p99_us=\(p99) p999_us=\(p999) max_us=\(max) sent=\(sent) "
            + "matched=\(matched) errors=\(errorCount) lost=\(lost) mismatched=\(mismatched)"
    }
}
