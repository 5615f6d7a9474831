import BatonProtocol

/// The changes of stage that keep a session on its worker (``SessionTable`` makes those that change it).
extension SessionRecord {
    /// Its worker is being replaced with handoff: the session starts moving to `successor`.
    mutating func beginMove(to successor: WorkerID, now: Instant) {
        switch stage {
        case .active(let worker, let ending), .draining(let worker, _, let ending):
            stage = .moving(worker: worker, SessionMove(successor: successor, since: now), ending: ending)
        case .opening, .moving, .lost:
            break
        }
    }

    /// Its worker is being replaced without handoff: the session ends as `drain-timeout` at `deadline`.
    mutating func beginDrain(until deadline: Instant) {
        switch stage {
        case .active(let worker, let ending), .draining(let worker, _, let ending):
            stage = .draining(worker: worker, deadline: deadline, ending: ending)
        case .opening, .moving, .lost:
            break
        }
    }

    /// Its move is over without moving it: it stays on its worker, drained until `deadline` if one is given.
    mutating func endMove(drainingUntil deadline: Instant?) {
        guard case .moving(let worker, _, let ending) = stage else { return }
        if let deadline {
            stage = .draining(worker: worker, deadline: deadline, ending: ending)
        } else {
            stage = .active(worker: worker, ending: ending)
        }
    }

    /// Its worker's replacement was called off: the session stays there with no deadline.
    mutating func endDrain() {
        if case .draining(let worker, _, let ending) = stage { stage = .active(worker: worker, ending: ending) }
    }

    /// Changes the move under way, if there is one.
    mutating func changeMove(_ change: (inout SessionMove) -> Void) {
        guard case .moving(let worker, var move, let ending) = stage else { return }
        change(&move)
        stage = .moving(worker: worker, move, ending: ending)
    }

    /// Its worker said END while a request of the session was in flight.
    mutating func requestEnd() {
        switch stage {
        case .active(let worker, _):
            stage = .active(worker: worker, ending: true)
        case .draining(let worker, let deadline, _):
            stage = .draining(worker: worker, deadline: deadline, ending: true)
        case .moving(let worker, let move, _):
            stage = .moving(worker: worker, move, ending: true)
        case .opening, .lost:
            break
        }
    }
}
