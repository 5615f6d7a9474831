import BatonProtocol
import DequeModule
import Testing
@testable import Broker

/// The invariants ``SessionWalk`` checks after every event.
extension SessionWalk {
    mutating func check(after name: String) {
        checkRequests(after: name)
        checkCounters(after: name)
        checkSessions(after: name)
        checkProgress(after: name)
        checkWorkerState(after: name)
    }

    /// Every request read is answered, or held in exactly one place: the queue, a session, a worker.
    mutating func checkRequests(after name: String) {
        var located: [[UInt8]: Int] = [:]
        func tag(_ request: PendingRequest) -> [UInt8] { request.frames[1] }
        for request in core.queue { located[tag(request), default: 0] += 1 }
        for record in core.sessions.records.values {
            for request in record.held { located[tag(request), default: 0] += 1 }
        }
        for worker in core.knownWorkers.values {
            for entry in worker.inFlight.values { located[tag(entry.request), default: 0] += 1 }
        }
        for (key, count) in located where count > 1 { violation("\(name): \(text(key)) is in \(count) places") }
        let held = Set(located.keys)
        for tag in outstanding.subtracting(held) { violation("\(name): \(text(tag)) is neither answered nor held") }
        for tag in held.subtracting(outstanding) { violation("\(name): \(text(tag)) is held but was answered") }
    }

    /// The running totals equal what the structures give.
    mutating func checkCounters(after name: String) {
        let workers = Array(core.knownWorkers.values)
        func expect(_ label: String, _ kept: Int, _ recomputed: Int) {
            if kept != recomputed { violation("\(name): \(label) is \(kept), the structures give \(recomputed)") }
        }
        expect("stats.inFlight", core.stats.inFlight, workers.reduce(0) { $0 + $1.inFlight.count })
        expect("freeCapacity", core.workers.freeCapacity, workers.reduce(0) { $0 + $1.freeSlots })
        let held = core.sessions.records.values.reduce(0) { $0 + $1.held.count }
        expect("sessions.heldCount", core.sessions.heldCount, held)
        expect("stats.queueDepth", core.stats.queueDepth, core.queue.count + held)
        let lost = core.sessions.records.values.count(where: \.lost)
        expect("sessionsOpen", core.stats.sessionsOpen, core.sessions.count - lost)
        expect("sessions.lostCount", core.sessions.lostCount, lost)
        expect("stats.lostSessionKeys", core.stats.lostSessionKeys, lost)
        if lost > core.configuration.maxSessions {
            violation("\(name): \(lost) lost sessions kept, more than --max-sessions \(core.configuration.maxSessions)")
        }
        expect("stats.workers", core.stats.workers, workers.count)
        expect("multiCapacityCount", core.workers.multiCapacityCount, workers.count { $0.capacity > 1 })
        expect("drainingCount", core.workers.drainingCount, workers.count(where: \.isDraining))
        expect("heartbeatingCount", core.workers.heartbeatingCount, workers.count(where: \.heartbeating))
        let idle = workers.filter { $0.capacity == 1 && !$0.isBusy && !$0.isDraining }.map(\.id)
        let idleMulti = workers.count { $0.capacity > 1 && !$0.isBusy && !$0.isDraining }
        expect("idle", core.workers.idle.count, idle.count)
        if Set(core.workers.idle) != Set(idle) {
            violation("\(name): the idle list is \(core.workers.idle.map(text)), not \(idle.map(text))")
        }
        expect("idleMultiCapacityCount", core.workers.idleMultiCapacityCount, idleMulti)
        expect("stats.idleWorkers", core.stats.idleWorkers, idle.count + idleMulti)
        for (index, record) in core.workers.values.enumerated() where core.workers.index(forKey: record.id) != index {
            violation("\(name): \(text(record.id)) is not found at its position \(index)")
        }
        let placed = core.sessions.records.values.count { $0.worker != nil }
        expect("byWorker", core.sessions.byWorker.values.reduce(0) { $0 + $1.count }, placed)
        if core.sessions.isEmpty && core.sessions.waitingCount > 0 {
            violation("\(name): \(core.sessions.waitingCount) wait-list entries and no session")
        }
    }

    /// Each session's record agrees with where its requests are, and its move with the moves under way.
    mutating func checkSessions(after name: String) {
        var pending: [WorkerID: Int] = [:]
        var requests: [RequestID: (PendingRequest, worker: WorkerID?)] = [:]
        for request in core.queue { requests[request.id] = (request, nil) }
        for worker in core.knownWorkers.values {
            for entry in worker.inFlight.values { requests[entry.request.id] = (entry.request, worker.id) }
        }
        for (key, record) in core.sessions.records {
            if let worker = record.worker {
                if core.knownWorkers[worker] == nil { violation("\(name): session \(key) is on unknown \(text(worker))") }
                if core.sessions.byWorker[worker]?.contains(key) != true { violation("\(name): \(key) not indexed") }
            }
            if record.lost && (record.worker != nil || record.move != nil) {
                violation("\(name): lost session \(key) has a worker or a move")
            }
            if !record.lost && record.worker == nil {
                guard let busy = record.busy, let (request, at) = requests[busy], at == nil, request.opensSession else {
                    violation("\(name): session \(key) has no worker and no opener queued")
                    continue
                }
            }
            if let busy = record.busy {
                guard let (request, at) = requests[busy], request.session == key else {
                    violation("\(name): session \(key)'s request \(busy) is nowhere")
                    continue
                }
                if let at, at != (record.worker ?? record.lostFrom) {
                    violation("\(name): session \(key)'s request is at \(text(at)), not at its worker")
                }
            }
            switch record.stage {
            case .draining(let worker, _, _), .moving(let worker, _, _):
                if core.knownWorkers[worker]?.isDraining != true {
                    violation("\(name): session \(key) is \(record.stage) on a worker that is not draining")
                }
            case .opening, .active, .lost:
                break
            }
            if let move = record.move {
                guard let old = record.worker else { continue }
                pending[old, default: 0] += 1
                if core.knownWorkers[move.successor] == nil { violation("\(name): \(key) moves to an unknown worker") }
                if (move.phase == .waiting) != (record.busy != nil) {
                    violation("\(name): \(key) is \(move.phase) with request \(String(describing: record.busy))")
                }
            }
        }
        for (old, report) in core.moves where pending[old] != report.pending && !core.stopping {
            violation("\(name): \(text(old)) has \(report.pending) moves pending, \(pending[old] ?? 0) sessions moving")
        }
        guard !core.stopping else { return }
        for (id, (request, _)) in requests {
            guard let key = request.session else { continue }
            if core.sessions[key]?.busy != id { violation("\(name): request \(id) of \(key) is not its session's") }
        }
    }

    /// Nothing waits that could go: queued requests while a worker has room, held requests while their
    /// session's worker has a free slot; and a draining worker with nothing left has been reported drained.
    mutating func checkProgress(after name: String) {
        if !core.stopping && !core.queue.isEmpty
            && (core.workers.multiCapacityCount == 0 ? !core.workers.idle.isEmpty : core.workers.freeCapacity > 0)
        {
            violation("\(name): \(core.queue.count) requests queued while a worker has room")
        }
        for (key, record) in core.sessions.records where record.canDispatch && !record.held.isEmpty {
            guard let worker = record.worker, let home = core.knownWorkers[worker] else { continue }
            if home.hasFreeCapacity { violation("\(name): \(key) holds requests while \(text(worker)) has a slot") }
            if record.waitingAt != worker { violation("\(name): \(key) waits for a slot but is not on its worker's list") }
        }
        for worker in core.knownWorkers.values
        where worker.isDraining && !worker.isBusy && core.sessions.count(on: worker.id) == 0 {
            if !drainedReported.contains(worker.id) { violation("\(name): \(text(worker.id)) is drained, not reported") }
        }
        for id in drainedReported {
            guard let worker = core.knownWorkers[id] else { continue }
            if worker.isBusy || core.sessions.count(on: id) > 0 { violation("\(name): \(text(id)) got work after drained") }
        }
    }

    /// Sessions live where the broker says: the worker it names keeps the state, and no live worker keeps
    /// state the broker forgot without telling it END.
    mutating func checkWorkerState(after name: String) {
        guard !core.stopping else { return }
        for (key, record) in core.sessions.records where !record.lost && !record.endRequested {
            guard let worker = record.worker, let fake = fakes[worker] else { continue }
            if !fake.state.contains(key.bytes) { violation("\(name): session \(key) is on \(text(worker)), which lost it") }
        }
        for (id, fake) in fakes where fake.framing == .dealer && core.knownWorkers[id] != nil {
            for key in fake.state {
                let record = core.sessions[SessionKey(bytes: key)]
                let owner = record?.lost == false && record?.worker == id
                let importing = record?.move?.successor == id && record?.move?.phase == .importing
                if !owner && !importing { violation("\(name): \(text(id)) keeps \(key), which the broker forgot") }
            }
        }
    }
}
