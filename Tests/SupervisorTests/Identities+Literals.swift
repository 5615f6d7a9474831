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
