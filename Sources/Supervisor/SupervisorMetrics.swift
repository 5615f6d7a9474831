import BatonProtocol
import ServiceThread

/// The supervisor's numbers for `/metrics`: slots by state, restarts by reason, reloads by result and how
/// long they took, and the active generation. Kept on the supervisor thread; other threads get a copy through
/// ``SupervisorServer/snapshot()``.
public struct SupervisorMetrics: Sendable, Equatable {
    /// Why a worker was restarted: it crashed, it hung and was ended, its process could not be started, or it
    /// left on purpose (DISCONNECT, then exit 0).
    public static let restartReasons = [WorkerExitReason.crashed.rawValue, WorkerExitReason.hung.rawValue,
                                        "spawn-failed", WorkerExitReason.disconnected.rawValue]
    /// How a reload ended: the new generation serves everywhere, it was rolled back, or it never began.
    public static let reloadResults = ["succeeded", "rolled-back", "refused"]

    /// Slots in each state (every state present, from zero).
    public var slots = Self.zeros(SlotState.allCases)
    /// Restarts scheduled, by ``restartReasons``.
    public var restarts = Self.zeros(restartReasons).mapValues(UInt64.init)
    /// Reloads, by ``reloadResults``.
    public var reloads = Self.zeros(reloadResults).mapValues(UInt64.init)
    /// Duration of the reloads that began (succeeded or rolled back).
    public var reloadDuration = LatencyHistogram(bounds: LatencyHistogram.reloadBounds)
    /// The generation the slots run (the active one).
    public var generation = GenerationID(1)
    /// The active generation's executable; nil without managed workers.
    public var executable: String?
    /// Whether the supervisor is stopping its workers.
    public var stopping = false
    /// When the running reload began.
    var reloadStartedAt: Instant?

    /// Empty metrics.
    public init() {}

    private static func zeros<Key: Hashable>(_ keys: [Key]) -> [Key: Int] {
        Dictionary(uniqueKeysWithValues: keys.map { ($0, 0) })
    }

    /// Counts the restarts among a pool's actions, for one reason.
    mutating func countRestarts(_ actions: [PoolAction], reason: String) {
        for action in actions {
            switch action {
            case .restartScheduled, .workerLeft: restarts[reason, default: 0] += 1
            case .spawn, .signal, .workerGone, .slotFailed, .drain, .resume, .preferSessions, .reloadProgress,
                 .reloadFinished:
                break
            }
        }
    }

    mutating func reloadStarted(now: Instant) {
        reloadStartedAt = now
    }

    mutating func reloadRefused() {
        reloads["refused", default: 0] += 1
    }

    mutating func reloadFinished(succeeded: Bool, now: Instant) {
        reloads[succeeded ? "succeeded" : "rolled-back", default: 0] += 1
        if let started = reloadStartedAt { reloadDuration.record(now.since(started).nanoseconds) }
        reloadStartedAt = nil
    }
}

extension SupervisorServer {
    /// The supervisor's numbers at one moment; nil once its thread has ended.
    public func snapshot() async -> SupervisorMetrics? {
        await thread.ask(Command.snapshot) ?? nil
    }
}

extension SupervisorLoop {
    /// What ``SupervisorServer/snapshot()`` answers: the running counts plus the slots and generation now.
    func snapshot() -> SupervisorMetrics {
        var snapshot = metrics
        snapshot.slots = snapshot.slots.mapValues { _ in 0 }
        for slot in pool.status(now: Instant.now()) { snapshot.slots[slot.state, default: 0] += 1 }
        snapshot.generation = pool.currentGeneration
        snapshot.executable = options.pool.workers > 0
            ? (generations.command(of: pool.currentGeneration) ?? options.command).executable : nil
        snapshot.stopping = pool.stopping
        return snapshot
    }
}
