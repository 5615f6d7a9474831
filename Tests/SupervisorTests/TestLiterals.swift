import BatonProtocol

/// Worker ids written as text in the pool's tests, as the supervisor names its workers (`run-1-1`).
extension WorkerID: ExpressibleByStringInterpolation {
    public init(stringLiteral name: String) { self.init(name) }

    public init(stringInterpolation: DefaultStringInterpolation) { self.init(String(stringInterpolation: stringInterpolation)) }
}

/// Generations written as numbers in the pool's tests.
extension GenerationID: ExpressibleByIntegerLiteral {
    public init(integerLiteral number: Int) { self.init(number) }
}

/// Moments written as nanoseconds since the pool's clock started, in the pool's tests.
extension Instant: ExpressibleByIntegerLiteral {
    public init(integerLiteral nanoseconds: UInt64) { self.init(nanoseconds: nanoseconds) }

    /// `count` times as far from the clock's start as `instant`: `10 * second` is ten seconds in.
    static func * (count: UInt64, instant: Instant) -> Instant { Instant(nanoseconds: count * instant.nanoseconds) }
}

/// Durations written as nanoseconds in the pool's tests.
extension TimeSpan: ExpressibleByIntegerLiteral {
    public init(integerLiteral nanoseconds: UInt64) { self.init(nanoseconds: nanoseconds) }
}
