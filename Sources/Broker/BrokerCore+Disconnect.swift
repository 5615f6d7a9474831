import BatonProtocol

extension BrokerCore {
    /// A worker said DISCONNECT (`0x03`): it is leaving and takes no more requests.
    ///
    /// It is removed at once, not dropped as hung: no ban, so it may say READY again later, and no process
    /// to end. A request it still holds is lost as with any lost worker: retried under `--retry-on-crash`,
    /// otherwise answered `worker-died`. A DISCONNECT from a worker the broker does not know is ignored.
    /// Its ``WorkerEvent/lost(worker:reason:hadRequest:)`` gives ``WorkerLossReason/disconnected``.
    mutating func disconnected(_ id: WorkerID, now: Instant, into out: inout [BrokerAction]) {
        guard workers[id] != nil else { return }
        stats.workersDisconnected += 1
        removeWorker(id, reason: .disconnected, now: now, into: &out)
    }
}
