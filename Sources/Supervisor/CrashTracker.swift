import BatonProtocol

/// What to do about a slot whose worker exited unexpectedly.
public enum RestartDecision: Sendable, Equatable {
    /// Start a new worker after this delay.
    case restart(after: TimeSpan)
    /// Stop restarting: the slot is failed, for the given reason.
    case fail(reason: String)
}

/// One slot's crash history under a ``RestartPolicy``. A pure value: the caller supplies the clock and
/// the random numbers, so it is tested without processes or sleeps.
public struct CrashTracker: Sendable {
    /// The policy applied.
    public let policy: RestartPolicy
    /// Crashes in a row since the last healthy run.
    public private(set) var consecutive = 0
    /// Monotonic times of the crashes still inside the policy's window.
    public private(set) var recent: [Instant] = []

    /// Creates a tracker with no crashes.
    public init(policy: RestartPolicy) {
        self.policy = policy
    }

    /// A worker of this slot exited unexpectedly at `now` after running for `ranFor`.
    public mutating func workerCrashed(
        ranFor: TimeSpan, now: Instant, using random: inout some RandomNumberGenerator
    ) -> RestartDecision {
        consecutive = ranFor >= policy.stableAfter ? 1 : consecutive + 1
        recent.append(now)
        recent.removeAll { now.since($0) > policy.crashWindow }
        if recent.count > policy.maxCrashes {
            let seconds = Int(policy.crashWindow.seconds)
            return .fail(reason: "crashed \(recent.count) times within \(seconds) s")
        }
        let base = Double(policy.baseDelay(afterConsecutiveCrashes: consecutive).nanoseconds)
        let factor = policy.jitter > 0 ? Double.random(in: (1 - policy.jitter)...(1 + policy.jitter), using: &random) : 1
        return .restart(after: TimeSpan(nanoseconds: UInt64(max(base * factor, 0))))
    }

    /// Forgets the history (a reload revives a failed slot).
    public mutating func reset() {
        consecutive = 0
        recent = []
    }
}
