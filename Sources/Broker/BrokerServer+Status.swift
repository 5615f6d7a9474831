/// What `baton status` shows of the broker: its counters, histograms and workers, read in one visit to the
/// broker thread.
public struct BrokerStatus: Sendable {
    /// The counters, outcome counts and latency histograms.
    public let snapshot: BrokerSnapshot
    /// The workers the broker knows.
    public let workers: [WorkerSummary]
}

extension BrokerServer {
    /// Reads the broker's ``BrokerStatus`` on the broker thread and passes it to `reply` there (nil at once, on
    /// the caller's thread, when the broker is not running). The caller never waits for the broker thread.
    public func status(then reply: @escaping @Sendable (BrokerStatus?) -> Void) {
        if !send(.status { reply($0) }) { reply(nil) }
    }
}

extension BrokerLoop {
    /// What ``BrokerServer/status(then:)`` answers.
    func status(running: Bool) -> BrokerStatus {
        BrokerStatus(snapshot: snapshot(running: running), workers: running ? core.workerSummaries : [])
    }
}
