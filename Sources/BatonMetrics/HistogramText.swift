import BatonProtocol

/// Writes a ``LatencyHistogram`` (nanoseconds) as a Prometheus histogram in seconds: cumulative
/// `_bucket{le=…}` lines, `_sum` and `_count`.
enum HistogramText {
    static func render(_ name: MetricName, _ histogram: LatencyHistogram) -> String {
        var text = "# HELP \(name.rawValue) \(name.help)\n# TYPE \(name.rawValue) histogram\n"
        let cumulative = histogram.cumulativeCounts
        for (bound, count) in zip(histogram.bounds, cumulative) {
            text += "\(name.rawValue)_bucket{le=\"\(seconds(bound))\"} \(count)\n"
        }
        text += "\(name.rawValue)_bucket{le=\"+Inf\"} \(histogram.count)\n"
        text += "\(name.rawValue)_sum \(seconds(histogram.sum))\n"
        text += "\(name.rawValue)_count \(histogram.count)\n"
        return text
    }

    /// Nanoseconds as seconds, in the shortest decimal form that reads back exactly.
    static func seconds(_ nanoseconds: UInt64) -> String {
        "\(Double(nanoseconds) / 1e9)"
    }
}
