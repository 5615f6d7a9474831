import ServiceThread

extension BrokerServer {
    /// The broker's counters, outcome counts, latency histograms and drain state, as the broker thread sees
    /// them at one moment; nil if the broker thread is not running.
    ///
    /// The broker keeps aggregating on its own thread; this only copies what it has (for `/metrics`).
    public func snapshot() async -> BrokerSnapshot? {
        await thread.ask(Command.snapshot)
    }
}

extension BrokerLoop {
    /// What ``BrokerServer/snapshot()`` answers.
    func snapshot(running: Bool) -> BrokerSnapshot {
        BrokerSnapshot(stats: stats, metrics: core.metrics, draining: draining != nil, running: running)
    }
}
