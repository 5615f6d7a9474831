import BatonProtocol
import CBatonSys

/// Wall-clock timestamps as the database stores them: UTC ISO-8601 text with microseconds.
public enum Timestamp {
    /// Formats nanoseconds since the Unix epoch.
    public static func iso(nanoseconds: Int64) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 32) { buffer in
            baton_format_utc(nanoseconds, buffer.baseAddress!)
            return String(cString: buffer.baseAddress!)
        }
    }

    /// Now, formatted.
    public static func now() -> String { iso(nanoseconds: BatonClock.wall()) }
}

/// Formats wall-clock nanoseconds like ``Timestamp/iso(nanoseconds:)``, reusing the date and time part
/// while the second does not change (the writer formats three timestamps per request).
struct TimestampFormatter {
    private var second: Int64 = .min
    private var prefix: [UInt8] = []

    mutating func format(_ nanoseconds: Int64) -> String {
        withFormatted(nanoseconds) { String(decoding: $0, as: UTF8.self) }
    }

    /// Calls `body` with the formatted timestamp's UTF-8 bytes, valid only during the call; allocates nothing
    /// (the writer binds them straight to a statement).
    mutating func withFormatted<Result>(_ nanoseconds: Int64, _ body: (UnsafeBufferPointer<UInt8>) -> Result)
        -> Result
    {
        var seconds = nanoseconds / 1_000_000_000
        var micros = (nanoseconds % 1_000_000_000) / 1000
        if micros < 0 {
            micros += 1_000_000
            seconds -= 1
        }
        if seconds != second {
            second = seconds
            prefix = Array(Timestamp.iso(nanoseconds: seconds * 1_000_000_000).utf8.prefix(20))  // "…T22:00:00."
        }
        let length = prefix.count + 7  // six digits of microseconds and "Z"
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length) { buffer in
            let start = buffer.baseAddress!
            prefix.withUnsafeBufferPointer { start.initialize(from: $0.baseAddress!, count: $0.count) }
            var value = micros
            for position in stride(from: length - 2, through: length - 7, by: -1) {
                (start + position).initialize(to: 0x30 + UInt8(value % 10))
                value /= 10
            }
            (start + length - 1).initialize(to: 0x5A)  // Z
            return body(UnsafeBufferPointer(start: start, count: length))
        }
    }
}
