import BatonProtocol

extension TimeSpan {
    /// The span in whole microseconds, rounded down: how the history database stores waits and pauses.
    var wholeMicroseconds: Int64 { Int64(nanoseconds / TimeSpan.microseconds(1).nanoseconds) }
}
