import BatonProtocol

extension TimeSpan {
    /// A `divisor`th of the span, rounded down (`divisor` is not 0): the service-time average's weighting.
    @inline(__always)
    static func / (span: TimeSpan, divisor: UInt64) -> TimeSpan { TimeSpan(nanoseconds: span.nanoseconds / divisor) }

    /// The span in whole milliseconds, rounded up so that a poll does not wake before its deadline, and at
    /// most `limit`.
    func pollMilliseconds(atMost limit: Int) -> Int {
        let (whole, part) = nanoseconds.quotientAndRemainder(dividingBy: TimeSpan.milliseconds(1).nanoseconds)
        return Int(min(whole + (part > 0 ? 1 : 0), UInt64(limit)))
    }
}
