import BatonProtocol

extension Instant {
    /// The earlier of a deadline that may be missing and one that is not.
    @inline(__always)
    static func earliest(_ deadline: Instant?, _ other: Instant) -> Instant {
        deadline.map { min($0, other) } ?? other
    }
}
