import BatonProtocol

/// Generations written as numbers in the command-line tests, as `status` and `generations` show them.
extension GenerationID: ExpressibleByIntegerLiteral {
    public init(integerLiteral number: Int) { self.init(number) }
}
