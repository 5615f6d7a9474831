/// Durations given in seconds (flags, control requests) turned into the nanoseconds Baton counts in.
public enum Nanoseconds {
    /// The longest duration accepted: about 31 years, far below what a `UInt64` of nanoseconds holds.
    public static let maxSeconds: Double = 1e9

    /// `seconds` in nanoseconds; nil when it is not a finite number in 0…``maxSeconds``.
    public static func from(seconds: Double) -> UInt64? {
        guard seconds.isFinite, seconds >= 0, seconds <= maxSeconds else { return nil }
        return UInt64(seconds * 1e9)
    }
}
