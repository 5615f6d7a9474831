extension HistoryEvent {
    /// The `worker_id` recorded for a worker's ZeroMQ routing id: ``WorkerID/name``.
    public static func workerID(forRoutingID id: [UInt8]) -> String { WorkerID(routingID: id).name }
}
