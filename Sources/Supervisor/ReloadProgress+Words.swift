import BatonProtocol

/// The words of a rolling update, for `baton reload` and the supervisor's log: the data ``PoolCore`` emits,
/// put into sentences where they are shown.
extension ReloadProgress: CustomStringConvertible {
    /// The step as a line, e.g. "slot 1: new worker ready; draining the old one".
    public var description: String {
        switch self {
        case .began(let slots, let generation, let surge):
            "rolling \(Words.count(slots, "slot")) to generation \(generation)"
                + (surge ? "" : " (no surge: each old worker stops before its replacement starts)")
        case .starting(let slot, let generation):
            "slot \(slot): starting a generation \(generation) worker"
        case .drainingFirst(let slot):
            "slot \(slot): draining the old worker first (no surge)"
        case .newWorkerReady(let slot, let drainingOld):
            "slot \(slot): new worker ready" + (drainingOld ? "; draining the old one" : "")
        case .oldWorkerDone(let slot, let end):
            "slot \(slot): \(end)" + Self.next(after: end)
        case .oldWorkerStopped(let slot, let end, let generation):
            "slot \(slot): \(Self.stopped(end)); starting a generation \(generation) worker"
        case .rollingBack(let failure):
            "rolling back: \(failure)"
        case .restoreFailed(let slot, let cause):
            "slot \(slot): could not restore the previous generation: \(cause)"
        case .restoreTimedOut(let slot, let keeps):
            "slot \(slot): could not restore the previous generation: no READY in time; the slot keeps its "
                + "generation \(keeps) worker"
        case .restoreDrainTimedOut(let slot, let stopping):
            "slot \(slot): drain timeout; stopping the generation \(stopping) worker anyway"
        case .sessionsMoved(let slot, let workerID, let moved, let failed, let lost, let toRestored):
            (slot.map { "slot \($0)" } ?? "worker \(workerID)") + ": "
                + Self.sessionParts(moved: moved, failed: failed, lost: lost, toRestored: toRestored)
        case .waiting(let wait):
            wait.line()
        }
    }

    /// What follows an old worker's end when its replacement already runs.
    private static func next(after end: DrainEnd) -> String {
        switch end {
        case .drained: "; stopping it"
        case .timedOut: "; stopping the old worker anyway"
        case .exited: "; the new worker takes the slot"
        }
    }

    /// What became of an old worker stopped before its replacement starts.
    private static func stopped(_ end: DrainEnd) -> String {
        switch end {
        case .drained: "old worker stopped"
        case .timedOut: "\(end); old worker stopped"
        case .exited: "\(end)"
        }
    }

    private static func sessionParts(moved: Int, failed: Int, lost: Int, toRestored: Bool) -> String {
        var parts: [String] = []
        if moved > 0 || failed + lost == 0 {
            parts.append("\(Words.count(moved, "session")) moved to "
                         + (toRestored ? "the restored worker" : "the new worker"))
        }
        if failed > 0 {
            parts.append("\(failed) could not move (handoff failed) and stay on the old worker until they end")
        }
        if lost > 0 {
            parts.append("\(Words.count(lost, "session")) lost: the old worker ended before they could move")
        }
        return parts.joined(separator: "; ")
    }
}

extension DrainEnd: CustomStringConvertible {
    /// "old worker drained", "drain timeout", "the old worker exited (signal 9) while it drained".
    public var description: String {
        switch self {
        case .drained: "old worker drained"
        case .timedOut: "drain timeout"
        case .exited(let exit): "the old worker exited (\(exit)) while it drained"
        }
    }
}

extension ReloadFailure: CustomStringConvertible {
    /// "slot 2: the new worker exited (exit 1) before READY".
    public var description: String { "slot \(slot): \(cause)" }
}

extension ReloadFailure.Cause: CustomStringConvertible {
    /// What went wrong, in words.
    public var description: String {
        switch self {
        case .spawnFailed(let reason): reason
        case .exited(let exit, let afterReady):
            "the new worker exited (\(exit)) " + (afterReady ? "after READY, before the slot was done" : "before READY")
        case .noReady(let seconds): "the new worker sent no READY within \(Int(seconds)) s"
        }
    }
}

extension ReloadOutcome: CustomStringConvertible {
    /// "generation 3 is active in all 4 slots", "rolled back to generation 2: slot 1: …".
    public var description: String {
        switch self {
        case .succeeded(let generation, _, let slots):
            "generation \(generation) is active in " + (slots == 1 ? "its one slot" : "all \(slots) slots")
        case .rolledBack(_, let previous, let failure):
            "rolled back to generation \(previous): \(failure)"
        case .interrupted:
            "the supervisor is shutting down"
        }
    }
}

/// Counted nouns.
enum Words {
    /// "1 slot", "4 slots".
    static func count(_ value: Int, _ noun: String) -> String { "\(value) \(noun)\(value == 1 ? "" : "s")" }
}
