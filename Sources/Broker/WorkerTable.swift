import BatonProtocol
import DequeModule

/// The workers ``BrokerCore`` knows: their records in one contiguous array, found by routing id through a
/// dictionary of positions, and the bookkeeping derived from them (the idle queue, the free capacity and the
/// counts dispatch and liveness consult), which only the table's mutators change, so it cannot drift from
/// the records.
///
/// A dictionary of records would do, but reading one field of a record in a dictionary copies the whole
/// record (its routing id and its requests are retained and released again), and dispatch reads several
/// fields of every worker for every request. An array element's fields are read in place.
struct WorkerTable {
    /// The records, in no particular order. A position is valid until a worker is added or removed (removal
    /// moves the last record into the gap). Changed only through ``update(at:_:)`` and the other mutators.
    private(set) var values: [WorkerRecord] = []
    /// Position in ``values`` of each record, by routing id.
    private var positions: [WorkerID: Int] = [:]
    /// Idle workers of capacity 1 (not draining, holding no request), the one that has waited longest first.
    private(set) var idle: Deque<WorkerID> = []
    /// Requests the workers can take now: the sum of their ``WorkerRecord/freeSlots``.
    private(set) var freeCapacity = 0
    /// Workers whose capacity is above 1; while there are none, dispatch is plain LRU over ``idle``.
    private(set) var multiCapacityCount = 0
    /// Workers being drained for a replacement (``WorkerRecord/isDraining``).
    private(set) var drainingCount = 0
    /// Workers held to the heartbeat protocol's liveness (``WorkerRecord/heartbeating``).
    private(set) var heartbeatingCount = 0
    /// Workers of capacity above 1 that are not draining and hold no request.
    private(set) var idleMultiCapacityCount = 0

    /// How many workers are known.
    var count: Int { values.count }

    /// Workers that can take a request and hold none: those in ``idle`` and the idle ones of higher capacity.
    var idleCount: Int { idle.count + idleMultiCapacityCount }

    /// The position of a worker's record, if it is known.
    @inline(__always)
    func index(forKey id: WorkerID) -> Int? {
        positions[id]
    }

    /// A worker's record by routing id.
    subscript(id: WorkerID) -> WorkerRecord? {
        positions[id].map { values[$0] }
    }

    /// Adds the record of a worker that is not known yet, with its share of the bookkeeping.
    mutating func add(_ record: WorkerRecord) {
        precondition(positions[record.id] == nil, "a worker is added once")
        positions[record.id] = values.count
        values.append(record)
        let share = Share(record)
        count(share, sign: 1)
        if share.idleSingle { idle.append(record.id) }
    }

    /// Removes a worker's record and its share of the bookkeeping, and returns it; the last record takes its
    /// position.
    @discardableResult
    mutating func remove(_ id: WorkerID) -> WorkerRecord? {
        guard let index = positions.removeValue(forKey: id) else { return nil }
        values.swapAt(index, values.count - 1)
        let record = values.removeLast()
        if index < values.count { positions[values[index].id] = index }
        let share = Share(record)
        count(share, sign: -1)
        if share.idleSingle { removeIdle(id) }
        return record
    }

    /// Changes the record at `index` in place (its routing id must stay), and the bookkeeping with it.
    @inline(__always)
    @discardableResult
    mutating func update<Result>(at index: Int, _ change: (inout WorkerRecord) -> Result) -> Result {
        let before = Share(values[index])
        let result = change(&values[index])
        let after = Share(values[index])
        if before != after {
            count(before, sign: -1)
            count(after, sign: 1)
            if before.idleSingle && !after.idleSingle {
                removeIdle(values[index].id)
            } else if !before.idleSingle && after.idleSingle {
                idle.append(values[index].id)
            }
        }
        return result
    }

    /// Gives the worker at `index` a request (it has a free slot), stamped `lastUsed`: the request path's
    /// ``update(at:_:)``, with only the bookkeeping a dispatch can change.
    @inline(__always)
    mutating func assign(_ entry: InFlightRequest, at index: Int, lastUsed: UInt64) {
        let wasIdle = values[index].inFlight.isEmpty
        values[index].inFlight[entry.request.id] = entry
        values[index].lastUsed = lastUsed
        guard !values[index].isDraining else { return }
        freeCapacity -= 1
        guard wasIdle else { return }
        if values[index].capacity == 1 { removeIdle(values[index].id) } else { idleMultiCapacityCount -= 1 }
    }

    /// Takes a request back from the worker at `index`; nil if it does not hold it. The request path's
    /// ``update(at:_:)``, with only the bookkeeping a release can change.
    @inline(__always)
    mutating func release(_ requestID: RequestID, at index: Int) -> InFlightRequest? {
        guard let entry = values[index].inFlight.removeValue(forKey: requestID) else { return nil }
        guard !values[index].isDraining else { return entry }
        freeCapacity += 1
        guard values[index].inFlight.isEmpty else { return entry }
        if values[index].capacity == 1 { idle.append(values[index].id) } else { idleMultiCapacityCount += 1 }
        return entry
    }

    /// Notes a message from the worker at `index`: when, and on which connection (nil: unknown).
    @inline(__always)
    mutating func heard(at index: Int, now: Instant, connection: Int32?) {
        values[index].lastSeen = now
        values[index].connection = WorkerConnection(connection)
    }

    /// Notes a message from the worker at `index` that says nothing of its connection.
    @inline(__always)
    mutating func heard(at index: Int, now: Instant) {
        values[index].lastSeen = now
    }

    /// Notes a reply from the worker at `index` to a request sent to it at `dispatchedAt`.
    @inline(__always)
    mutating func served(at index: Int, dispatchedAt: Instant, now: Instant) {
        values[index].served += 1
        values[index].measure(dispatchedAt: dispatchedAt, now: now)
    }

    /// Notes that the connection of the worker at `index` closed at `now`.
    mutating func connectionClosed(at index: Int, now: Instant) {
        values[index].connection = .closed(at: now)
    }

    /// The records as a dictionary by routing id (for status and tests, not for the request path).
    var dictionary: [WorkerID: WorkerRecord] {
        Dictionary(uniqueKeysWithValues: values.map { ($0.id, $0) })
    }

    /// Takes a capacity-1 worker out of the idle queue (O(1) when it is the longest idle, as in LRU dispatch).
    private mutating func removeIdle(_ id: WorkerID) {
        if idle.first == id {
            idle.removeFirst()
        } else if let position = idle.firstIndex(of: id) {
            idle.remove(at: position)
        }
    }

    private mutating func count(_ share: Share, sign: Int) {
        freeCapacity += sign * share.freeSlots
        if share.multiCapacity { multiCapacityCount += sign }
        if share.draining { drainingCount += sign }
        if share.heartbeating { heartbeatingCount += sign }
        if share.idleMulti { idleMultiCapacityCount += sign }
    }

    /// What one record contributes to the bookkeeping.
    private struct Share: Equatable {
        let freeSlots: Int
        let multiCapacity: Bool
        let draining: Bool
        let heartbeating: Bool
        /// In ``idle``: capacity 1, not draining, holding none.
        let idleSingle: Bool
        /// Counted in ``idleMultiCapacityCount``.
        let idleMulti: Bool

        @inline(__always)
        init(_ record: WorkerRecord) {
            freeSlots = record.freeSlots
            multiCapacity = record.capacity > 1
            draining = record.isDraining
            heartbeating = record.heartbeating
            let idle = !record.isDraining && record.inFlight.isEmpty
            idleSingle = idle && record.capacity == 1
            idleMulti = idle && record.capacity > 1
        }
    }
}
