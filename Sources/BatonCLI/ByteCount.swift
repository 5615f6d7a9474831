import Foundation

/// Byte counts as people write them: `1048576`, `64KB`, `64KiB`, `100MB`, `100MiB`, `1GB`, `1GiB` (KB/MB/GB are
/// powers of 1000, KiB/MiB/GiB powers of 1024; case does not matter).
enum ByteCount {
    /// The number of bytes, or nil if `text` is not a byte count.
    static func parse(_ text: String) -> Int64? {
        let lower = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Int64)] = [("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("kb", 1_000),
                                        ("mb", 1_000_000), ("gb", 1_000_000_000), ("b", 1)]
        for (suffix, scale) in units where lower.hasSuffix(suffix) {
            guard let value = Int64(lower.dropLast(suffix.count)), value >= 0 else { return nil }
            return value.multipliedReportingOverflow(by: scale).overflow ? nil : value * scale
        }
        return Int64(lower).flatMap { $0 >= 0 ? $0 : nil }
    }
}
