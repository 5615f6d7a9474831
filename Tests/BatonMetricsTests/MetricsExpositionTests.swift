import BatonProtocol
import Broker
import Foundation
import Store
import Supervisor
import Testing

@testable import BatonMetrics

@Suite("The Prometheus exposition built from snapshots")
struct MetricsExpositionTests {
    /// The value of one sample line, `name{labels} value`.
    func value(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    func snapshot(replied: UInt64, expired: UInt64 = 0, generation: Int = 1, digest: String = "abc")
        -> MetricsSnapshot {
        var metrics = BrokerMetrics()
        metrics.replied = replied
        for _ in 0..<replied { metrics.requestDuration.record(2_000_000) }
        metrics.errors[.expired] = expired
        var stats = BrokerStats()
        stats.queueDepth = 7
        stats.malformedWorkerMessages = 3
        var supervisor = SupervisorMetrics()
        supervisor.slots[.ready] = 2
        supervisor.restarts["hung"] = 1
        supervisor.generation = GenerationID(generation)
        return MetricsSnapshot(broker: BrokerSnapshot(stats: stats, metrics: metrics, draining: false, running: true),
                               supervisor: supervisor, history: nil, process: ProcessStatistics.current(),
                               generationDigest: digest)
    }

    @Test("every family has HELP and TYPE lines, and every label value of an outcome, state, reason and result")
    func everyFamilyIsPresent() {
        let text = MetricsExposition().render(snapshot(replied: 0))
        for name in MetricName.allCases {
            #expect(text.contains("# HELP \(name.rawValue) "), "\(name.rawValue)")
            #expect(text.contains("# TYPE \(name.rawValue) \(name.type)\n"), "\(name.rawValue)")
        }
        for outcome in ["replied"] + BatonErrorCode.allCases.map(\.rawValue) {
            #expect(value(text, "baton_requests_total{outcome=\"\(outcome)\"}") == 0)
        }
        for state in SlotState.allCases {
            #expect(value(text, "baton_workers{state=\"\(state.rawValue)\"}") == (state == .ready ? 2 : 0))
        }
        #expect(value(text, "baton_worker_restarts_total{reason=\"hung\"}") == 1)
        #expect(value(text, "baton_reloads_total{result=\"refused\"}") == 0)
        #expect(value(text, "baton_malformed_messages_total{socket=\"backend\"}") == 3)
        #expect(value(text, "baton_queue_depth") == 7)
        #expect(value(text, "baton_generation_info{generation=\"1\",digest=\"abc\"}") == 1)
        #expect((value(text, "process_resident_memory_bytes") ?? 0) > 0)
        #expect(value(text, "baton_history_dropped_events_total") == 0)
    }

    @Test("counters follow the totals the threads report across scrapes")
    func countersFollowTotals() {
        let exposition = MetricsExposition()
        _ = exposition.render(snapshot(replied: 3))
        let text = exposition.render(snapshot(replied: 10, expired: 2))
        #expect(value(text, "baton_requests_total{outcome=\"replied\"}") == 10)
        #expect(value(text, "baton_requests_total{outcome=\"expired\"}") == 2)
    }

    @Test("histograms are cumulative, in seconds, with +Inf, sum and count")
    func histogramsInSeconds() {
        let text = MetricsExposition().render(snapshot(replied: 4))
        #expect(value(text, "baton_request_duration_seconds_bucket{le=\"0.001\"}") == 0)
        #expect(value(text, "baton_request_duration_seconds_bucket{le=\"0.0025\"}") == 4, "2 ms each")
        #expect(value(text, "baton_request_duration_seconds_bucket{le=\"60.0\"}") == 4)
        #expect(value(text, "baton_request_duration_seconds_bucket{le=\"+Inf\"}") == 4)
        #expect(value(text, "baton_request_duration_seconds_sum") == 0.008)
        #expect(value(text, "baton_request_duration_seconds_count") == 4)
        #expect(value(text, "baton_reload_duration_seconds_count") == 0)
    }

    @Test("a new active generation replaces the previous generation's info series")
    func generationInfoMoves() {
        let exposition = MetricsExposition()
        _ = exposition.render(snapshot(replied: 0, generation: 1, digest: "aaa"))
        let text = exposition.render(snapshot(replied: 0, generation: 2, digest: "bbb"))
        #expect(value(text, "baton_generation_info{generation=\"2\",digest=\"bbb\"}") == 1)
        #expect(!text.contains("generation=\"1\""))
    }

    @Test("a part that does not answer keeps the values it last reported")
    func missingPartsKeepTheirValues() {
        let exposition = MetricsExposition()
        _ = exposition.render(snapshot(replied: 5))
        let text = exposition.render(MetricsSnapshot())
        #expect(value(text, "baton_requests_total{outcome=\"replied\"}") == 5)
        #expect(value(text, "baton_workers{state=\"ready\"}") == 2)
    }

    @Test("the metrics endpoint's own connections show by outcome, and open ones as a gauge")
    func httpConnections() {
        var http = MetricsHTTPStats()
        http.answered = 9
        http.refused = 1
        http.evicted = 368
        http.timedOut = 5
        http.clientClosed = 2
        http.open = 32
        let exposition = MetricsExposition()
        let first = exposition.render(MetricsSnapshot())
        for outcome in ["answered", "refused", "evicted", "timed-out", "client-closed"] {
            #expect(value(first, "baton_metrics_http_connections_total{outcome=\"\(outcome)\"}") == 0, "\(outcome)")
        }
        #expect(value(first, "baton_metrics_http_connections_open") == 0)
        let text = exposition.render(MetricsSnapshot(http: http))
        #expect(value(text, "baton_metrics_http_connections_total{outcome=\"answered\"}") == 9)
        #expect(value(text, "baton_metrics_http_connections_total{outcome=\"refused\"}") == 1)
        #expect(value(text, "baton_metrics_http_connections_total{outcome=\"evicted\"}") == 368)
        #expect(value(text, "baton_metrics_http_connections_total{outcome=\"timed-out\"}") == 5)
        #expect(value(text, "baton_metrics_http_connections_total{outcome=\"client-closed\"}") == 2)
        #expect(value(text, "baton_metrics_http_connections_open") == 32)
        #expect(value(exposition.render(MetricsSnapshot()), "baton_metrics_http_connections_open") == 32)
    }
}
