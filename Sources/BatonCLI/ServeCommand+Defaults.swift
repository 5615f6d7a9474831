import BatonApp
import BatonProtocol
import Store

/// Where serve's flags get their defaults: the configuration types' own (``BatonConfiguration``, with the
/// broker's and the pool's inside), written as a flag takes them.
extension ServeCommand {
    /// The configuration serve runs with when no flag is given.
    static let defaults = BatonConfiguration()
    /// Where serve listens for clients by default, and so where `call` and `bench` connect by default.
    static let defaultFrontend = defaults.frontend
    /// The state directory serve uses by default, and so where the other commands look by default.
    static let defaultStateDirectory = defaults.stateDirectory

    /// A duration as a flag in seconds takes it; nil (no limit) is 0.
    static func seconds(_ span: TimeSpan?) -> Double {
        span?.seconds ?? 0
    }

    /// A duration as a flag in milliseconds takes it.
    static func milliseconds(_ span: TimeSpan) -> Int {
        Int(clamping: span.milliseconds)
    }

    /// A flag's seconds as a ``TimeSpan``; nil for seconds that are not a duration (negative, not finite,
    /// beyond ``TimeSpan/maxSeconds``).
    static func duration(seconds: Double) -> TimeSpan? {
        TimeSpan(seconds: seconds)
    }

    /// A flag's milliseconds (not negative: validate() checks) as a ``TimeSpan``.
    static func duration(milliseconds: Int) -> TimeSpan {
        .milliseconds(UInt64(clamping: milliseconds))
    }

    /// A byte count as `--log-max-size` and `--history-retention` take it: with the largest binary unit that
    /// divides it (`64MiB`), else in bytes (`1000B`); 0 is `0`.
    static func byteText(_ bytes: Int64) -> String {
        guard bytes > 0 else { return "\(bytes)" }
        for (unit, factor) in [("GiB", Int64(1) << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where bytes % factor == 0 {
            return "\(bytes / factor)\(unit)"
        }
        return "\(bytes)B"
    }

    /// A retention policy as `--history-retention` takes it (`7d,1GiB`); nil keeps everything (`none`).
    static func retentionText(_ retention: HistoryRetention?) -> String {
        guard let retention, !retention.keepsEverything else { return "none" }
        var parts: [String] = []
        if let age = retention.maxAgeSeconds {
            let seconds = Int(age)
            let unit = [("d", 86_400), ("h", 3_600), ("m", 60)].first { seconds > 0 && seconds % $0.1 == 0 }
            parts.append(unit.map { "\(seconds / $0.1)\($0.0)" } ?? "\(seconds)s")
        }
        if let bytes = retention.maxBytes { parts.append(byteText(bytes)) }
        if let rows = retention.maxRows { parts.append("\(rows)") }
        return parts.joined(separator: ",")
    }
}
