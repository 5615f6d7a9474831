import Foundation
import Testing

@testable import BatonMetrics

@Suite("docs/metrics.md lists what /metrics serves")
struct MetricsDocumentationTests {
    @Test("every metric family has a row with its type")
    func everyMetricIsDocumented() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../docs/metrics.md").standardizedFileURL.path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let rows = text.split(separator: "\n").filter { $0.hasPrefix("| `") }
        for name in MetricName.allCases {
            let row = rows.first { $0.hasPrefix("| `\(name.rawValue)` |") }
            #expect(row?.contains("| \(name.type) |") == true, "\(name.rawValue)")
        }
        #expect(rows.filter { $0.contains("| counter |") || $0.contains("| gauge |") || $0.contains("| histogram |") }
                .count == MetricName.allCases.count, "no row for a metric that does not exist")
    }
}
