/// Byte counts as operators write and read them: `500MB`, `2GiB`, `1.5 GiB`.
///
/// Decimal units (`kB`/`KB`, `MB`, `GB`, `TB`) are powers of 1000, binary ones (`KiB`, `MiB`, `GiB`, `TiB`)
/// powers of 1024, and `B` is bytes; units are case-insensitive and must end in `b`, so `30m` stays an age
/// (minutes) wherever both are accepted.
public enum ByteSize {
    private static let units: [(suffix: String, factor: Double)] = [
        ("kib", 1024), ("mib", 1024 * 1024), ("gib", 1024 * 1024 * 1024), ("tib", 1024 * 1024 * 1024 * 1024),
        ("kb", 1e3), ("mb", 1e6), ("gb", 1e9), ("tb", 1e12), ("b", 1),
    ]

    /// Parses a positive size with a unit, like `500MB` or `2GiB`; nil for anything else.
    public static func parse(_ text: String) -> Int64? {
        let lowered = text.lowercased().filter { $0 != " " }
        for (suffix, factor) in units where lowered.hasSuffix(suffix) {
            guard let value = Double(lowered.dropLast(suffix.count)), value > 0, value.isFinite else { return nil }
            let bytes = (value * factor).rounded()
            guard bytes >= 1, bytes < 9e18 else { return nil }
            return Int64(bytes)
        }
        return nil
    }

    /// `512 B`, `12.3 MiB`, `1.0 GiB`: binary units, one decimal.
    public static func format(_ bytes: Int64) -> String {
        let names = ["KiB", "MiB", "GiB", "TiB"]
        guard bytes >= 1024 else { return "\(bytes) B" }
        var value = Double(bytes)
        var index = -1
        while value >= 1024 && index < names.count - 1 {
            value /= 1024
            index += 1
        }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(names[index])"
    }
}
