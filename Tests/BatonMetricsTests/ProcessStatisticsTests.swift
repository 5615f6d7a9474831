import Foundation
import Testing

@testable import BatonMetrics

@Suite("process_* numbers from /proc")
struct ProcessStatisticsTests {
    @Test("a stat line whose command holds spaces and parentheses parses by field position")
    func parsesStatLine() throws {
        let fields = (3...52).map { "\($0)" }
        var values = fields
        values[14 - 3] = "250"  // utime, ticks
        values[15 - 3] = "150"  // stime
        values[22 - 3] = "1000"  // starttime, ticks after boot
        values[23 - 3] = "4096000"  // vsize, bytes
        values[24 - 3] = "300"  // rss, pages
        let line = "1234 (odd (name) x) " + values.joined(separator: " ")
        let stats = try #require(ProcessStatistics(stat: line, bootTime: 1_700_000_000, ticksPerSecond: 100,
                                                   pageSize: 4096, openFileDescriptors: 9, maxFileDescriptors: 1024))
        #expect(stats.cpuSeconds == 4)
        #expect(stats.startTimeSeconds == 1_700_000_010)
        #expect(stats.virtualMemoryBytes == 4_096_000)
        #expect(stats.residentMemoryBytes == 300 * 4096)
    }

    @Test("this process's numbers are plausible")
    func currentProcess() throws {
        let stats = try #require(ProcessStatistics.current())
        #expect(stats.residentMemoryBytes > 0)
        #expect(stats.openFileDescriptors >= 3)
        #expect(stats.maxFileDescriptors >= Int64(stats.openFileDescriptors))
        #expect(abs(stats.startTimeSeconds - Date().timeIntervalSince1970) < 24 * 3600)
    }
}
