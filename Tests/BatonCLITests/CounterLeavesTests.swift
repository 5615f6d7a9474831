import BatonProtocol
import Broker
import Foundation
import Store
import Supervisor
import Testing

@Suite("Counter leaves: every number of a status report and an exposition, found without a list")
struct CounterLeavesTests {
    @Test("an optional number that never had a value is named as its JSON key would be once it has one")
    func absentOptionalsMatchTheirJSONKeys() throws {
        var report = StatusReport(pid: 7, command: "w", slots: [
            SlotStatus(slot: 1, state: .ready, pid: nil, workerID: nil, generation: 1, uptimeSeconds: nil,
                       restarts: 0, lastExit: nil, failure: nil),
        ], broker: BrokerStats(), history: RecorderStats())
        let absent = CounterLeaves.absentNumbers(in: report)
        #expect(absent.isSuperset(of: ["status:slots[].pid", "status:slots[].incomingGeneration",
                                       "status:history.fileBytes", "status:broker.connections.maxClients"]),
                "\(absent.sorted())")
        #expect(!absent.contains("status:broker.expired"), "a number that is always encoded is not absent")

        report.slots[0].pid = 1
        report.slots[0].uptimeSeconds = 1
        report.slots[0].incomingGeneration = 2
        report.slots[0].incomingPid = 3
        report.history?.fileBytes = 4
        report.history?.usedBytes = 5
        report.broker.connections.maxClients = 6
        #expect(CounterLeaves.absentNumbers(in: report).isEmpty)
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        let leaves = try #require(CounterLeaves.status(json))
        #expect(Set(leaves.keys).isSuperset(of: absent), "missing: \(absent.subtracting(leaves.keys).sorted())")
        #expect(leaves["status:broker.expired"] == 0 && leaves["status:slots[].incomingPid"] == 3)
    }

    @Test("an exposition gives every series with its labels; histograms by their count and sum, not their buckets")
    func exposition() {
        let leaves = CounterLeaves.metrics("""
            # HELP baton_requests_total Requests answered.
            # TYPE baton_requests_total counter
            baton_requests_total{outcome="replied"} 3
            baton_requests_total{outcome="expired"} 0
            baton_queue_depth 0
            baton_queue_wait_seconds_bucket{le="0.0001"} 0
            baton_queue_wait_seconds_sum 0.5
            baton_queue_wait_seconds_count 2
            """)
        #expect(leaves == [#"metrics:baton_requests_total{outcome="replied"}"#: 3,
                           #"metrics:baton_requests_total{outcome="expired"}"#: 0, "metrics:baton_queue_depth": 0,
                           "metrics:baton_queue_wait_seconds_sum": 0.5, "metrics:baton_queue_wait_seconds_count": 2])
    }

    @Test("the union keeps the largest value of each leaf, and names those that never left 0")
    func union() {
        let coverage = CounterCoverage()
        coverage.record(["a": 0, "b": 2])
        coverage.record(["a": 0, "b": 0, "c": 1])
        coverage.recordAbsent(["c", "d"])
        #expect(coverage.leaves == ["a": 0, "b": 2, "c": 1, "d": 0])
        #expect(coverage.neverMoved == ["a", "d"])
    }
}
