import CBatonSys

/// Clock readings used by the broker: plain nanosecond counts, cheap to read and to compare.
public enum BatonClock {
    /// Nanoseconds on the monotonic clock (`CLOCK_MONOTONIC`); only differences mean anything.
    @inline(__always)
    public static func monotonic() -> UInt64 { baton_monotonic_ns() }

    /// Nanoseconds since the Unix epoch (`CLOCK_REALTIME`), for records people read.
    @inline(__always)
    public static func wall() -> Int64 { baton_realtime_ns() }
}
