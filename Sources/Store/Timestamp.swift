import Broker
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
    public static func now() -> String { iso(nanoseconds: Clock.wall()) }

    /// Converts a monotonic reading into wall-clock nanoseconds, using the current offset between the clocks.
    public static func wall(fromMonotonic monotonic: UInt64) -> Int64 {
        Clock.wall() - Int64(bitPattern: Clock.monotonic()) + Int64(bitPattern: monotonic)
    }
}
