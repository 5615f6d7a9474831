import BatonProtocol
import Broker
import CoreMetrics
import Prometheus
import Supervisor
import Synchronization

/// Baton's metrics as Prometheus text: counters and gauges live in a swift-prometheus registry and are set
/// through swift-metrics' API from each scrape's ``MetricsSnapshot``; the latency histograms, aggregated on
/// the broker and supervisor threads into fixed buckets, are written out as they are (a swift-prometheus
/// histogram takes single observations, which would mean replaying every request).
///
/// The registry belongs to this instance (no global `MetricsSystem` bootstrap), so several Baton instances in
/// one process keep apart. Safe from any thread; scrapes are serialized.
public final class MetricsExposition: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let state = Mutex(State())

    /// A time series: a family and its label pairs.
    struct Series: Hashable {
        let name: MetricName
        let labels: [String]

        init(_ name: MetricName, _ labels: [(String, String)] = []) {
            self.name = name
            self.labels = labels.flatMap { [$0.0, $0.1] }
        }

        var pairs: [(String, String)] { stride(from: 0, to: labels.count, by: 2).map { (labels[$0], labels[$0 + 1]) } }
    }

    struct State {
        var counters: [Series: (counter: CoreMetrics.Counter, published: UInt64)] = [:]
        var cpu: (counter: FloatingPointCounter, published: Double)?
        var meters: [Series: Meter] = [:]
        var generation: (series: Series, meter: Meter)?
        var histograms: [MetricName: LatencyHistogram] = [
            .requestDuration: LatencyHistogram(bounds: LatencyHistogram.requestBounds),
            .queueWait: LatencyHistogram(bounds: LatencyHistogram.requestBounds),
            .reloadDuration: LatencyHistogram(bounds: LatencyHistogram.reloadBounds),
            .handoffPause: LatencyHistogram(bounds: LatencyHistogram.requestBounds),
        ]
    }

    /// Creates an exposition with its own registry.
    public init() {
        factory = PrometheusMetricsFactory(registry: registry)
    }

    /// Publishes a snapshot and returns the whole exposition (text format 0.0.4). A part missing from the
    /// snapshot keeps the values it last reported.
    public func render(_ snapshot: MetricsSnapshot) -> String {
        state.withLock { state in
            publish(snapshot, into: &state)
            var text = registry.emitToString()
            for name in [MetricName.requestDuration, .queueWait, .reloadDuration, .handoffPause] {
                if let histogram = state.histograms[name] { text += HistogramText.render(name, histogram) }
            }
            return text
        }
    }

    private func publish(_ snapshot: MetricsSnapshot, into state: inout State) {
        if let broker = snapshot.broker {
            let metrics = broker.metrics
            total(.requests, metrics.replied, ["outcome": "replied"], in: &state)
            for code in BatonErrorCode.allCases {
                total(.requests, metrics.errors[code] ?? 0, ["outcome": code.rawValue], in: &state)
            }
            total(.repliesDropped, broker.stats.unreadRepliesDropped, ["reason": "not-reading"], in: &state)
            total(.repliesDropped, broker.stats.unroutableReplies, ["reason": "client-gone"], in: &state)
            total(.malformed, broker.stats.malformedClientMessages, ["socket": "frontend"], in: &state)
            total(.malformed, broker.stats.malformedWorkerMessages, ["socket": "backend"], in: &state)
            gauge(.queueDepth, Double(broker.stats.queueDepth), in: &state)
            gauge(.inFlight, Double(broker.stats.inFlight), in: &state)
            state.histograms[.requestDuration] = metrics.requestDuration
            state.histograms[.queueWait] = metrics.queueWait
            gauge(.sessionsOpen, Double(broker.stats.sessionsOpen), in: &state)
            total(.sessionsOpened, broker.stats.sessionsOpened, in: &state)
            total(.sessionHandoffs, broker.stats.sessionsMoved, ["result": "moved"], in: &state)
            total(.sessionHandoffs, broker.stats.handoffsFailed, ["result": "failed"], in: &state)
            state.histograms[.handoffPause] = metrics.handoffPause
        }
        if let supervisor = snapshot.supervisor {
            for slotState in SlotState.allCases {
                gauge(.workers, Double(supervisor.slots[slotState] ?? 0), ["state": slotState.rawValue], in: &state)
            }
            for reason in SupervisorMetrics.restartReasons {
                total(.restarts, supervisor.restarts[reason] ?? 0, ["reason": reason], in: &state)
            }
            for result in SupervisorMetrics.reloadResults {
                total(.reloads, supervisor.reloads[result] ?? 0, ["result": result], in: &state)
            }
            state.histograms[.reloadDuration] = supervisor.reloadDuration
            generation(supervisor.generation.number, digest: snapshot.generationDigest ?? "", in: &state)
        }
        let history = snapshot.history ?? RecorderStats()
        total(.historyDropped, history.droppedEvents, in: &state)
        total(.historyFailedWrites, history.failedBatches, in: &state)
        let http = snapshot.http ?? MetricsHTTPStats()
        for (outcome, count) in http.outcomes {
            total(.httpConnections, count, ["outcome": outcome], in: &state)
        }
        if snapshot.http != nil || state.meters[Series(.httpConnectionsOpen)] == nil {
            gauge(.httpConnectionsOpen, Double(http.open), in: &state)
        }
        if let process = snapshot.process { publish(process, into: &state) }
    }

    private func publish(_ process: ProcessStatistics, into state: inout State) {
        if state.cpu == nil {
            let handler = registry.makeCounter(descriptor: MetricName.cpuSeconds.descriptor)
            state.cpu = (FloatingPointCounter(label: MetricName.cpuSeconds.rawValue, dimensions: [], handler: handler,
                                              factory: factory), 0)
        }
        if let (counter, published) = state.cpu, process.cpuSeconds > published {
            counter.increment(by: process.cpuSeconds - published)
            state.cpu?.published = process.cpuSeconds
        }
        gauge(.startTime, process.startTimeSeconds, in: &state)
        gauge(.residentMemory, Double(process.residentMemoryBytes), in: &state)
        gauge(.virtualMemory, Double(process.virtualMemoryBytes), in: &state)
        gauge(.openFDs, Double(process.openFileDescriptors), in: &state)
        gauge(.maxFDs, Double(process.maxFileDescriptors), in: &state)
    }

    /// Brings a counter up to a total reported by a thread (counters only grow: the difference is added).
    private func total(_ name: MetricName, _ value: UInt64, _ labels: KeyValuePairs<String, String> = [:],
                       in state: inout State) {
        let series = Series(name, labels.map { ($0.key, $0.value) })
        if state.counters[series] == nil {
            let handler = registry.makeCounter(descriptor: name.descriptor, labels: series.pairs)
            state.counters[series] = (CoreMetrics.Counter(label: name.rawValue, dimensions: series.pairs,
                                                          handler: handler, factory: factory), 0)
        }
        guard let (counter, published) = state.counters[series], value > published else { return }
        counter.increment(by: Int64(clamping: value - published))
        state.counters[series]?.published = value
    }

    private func gauge(_ name: MetricName, _ value: Double, _ labels: KeyValuePairs<String, String> = [:],
                       in state: inout State) {
        let series = Series(name, labels.map { ($0.key, $0.value) })
        let meter = state.meters[series] ?? makeMeter(series)
        state.meters[series] = meter
        meter.set(value)
    }

    /// `baton_generation_info{generation, digest} 1`; the series of a previous generation is removed.
    private func generation(_ generation: Int, digest: String, in state: inout State) {
        let series = Series(.generationInfo, [("generation", "\(generation)"), ("digest", digest)])
        guard state.generation?.series != series else { return }
        state.generation?.meter.destroy()
        let meter = makeMeter(series)
        meter.set(1)
        state.generation = (series, meter)
    }

    private func makeMeter(_ series: Series) -> Meter {
        let handler = registry.makeGauge(descriptor: series.name.descriptor, labels: series.pairs)
        return Meter(label: series.name.rawValue, dimensions: series.pairs, handler: handler, factory: factory)
    }
}
