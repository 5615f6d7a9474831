import BatonProtocol

extension PoolCore {
    /// The broker reports that a worker said DISCONNECT: if the slot's worker then exits with status 0 on its
    /// own, it left on purpose (after a number of requests, say) and is replaced without counting a crash.
    public mutating func workerDisconnected(_ workerID: WorkerID) {
        guard let index = slots.firstIndex(where: { $0.workerID == workerID }), slots[index].pid != nil else {
            return
        }
        slots[index].leaving = true
    }

    /// A worker that said DISCONNECT exited with status 0: start a new one after the first restart delay,
    /// without escalating the backoff or counting towards a failed slot.
    mutating func left(_ index: Int, now: Instant) -> [PoolAction] {
        let delay = configuration.restart.initialDelay
        slots[index].leaving = false
        slots[index].state = .backoff
        slots[index].restartAt = now + delay
        slots[index].restarts += 1
        return [.workerLeft(slot: slots[index].number, after: delay)]
    }
}
