/// The workers ``BrokerCore`` knows: their records in one contiguous array, found by routing id through a
/// dictionary of positions.
///
/// A dictionary of records would do, but reading one field of a record in a dictionary copies the whole
/// record (its routing id and its requests are retained and released again), and dispatch reads several
/// fields of every worker for every request. An array element's fields are read in place.
struct WorkerTable {
    /// The records, in no particular order. A position is valid until a worker is added or removed (removal
    /// moves the last record into the gap).
    var values: [WorkerRecord] = []
    /// Position in ``values`` of each record, by routing id.
    private var positions: [[UInt8]: Int] = [:]

    /// How many workers are known.
    var count: Int { values.count }

    /// The position of a worker's record, if it is known.
    @inline(__always)
    func index(forKey id: [UInt8]) -> Int? {
        positions[id]
    }

    /// A worker's record by routing id; setting nil removes it, setting a record adds or replaces it.
    subscript(id: [UInt8]) -> WorkerRecord? {
        get { positions[id].map { values[$0] } }
        set {
            if let record = newValue {
                precondition(record.id == id, "a worker's record is stored under its own routing id")
                if let index = positions[id] { values[index] = record } else { append(record) }
            } else {
                removeValue(forKey: id)
            }
        }
    }

    /// Adds a record for a worker that is not known yet.
    private mutating func append(_ record: WorkerRecord) {
        positions[record.id] = values.count
        values.append(record)
    }

    /// Removes a worker's record and returns it; the last record takes its position.
    @discardableResult
    mutating func removeValue(forKey id: [UInt8]) -> WorkerRecord? {
        guard let index = positions.removeValue(forKey: id) else { return nil }
        values.swapAt(index, values.count - 1)
        let record = values.removeLast()
        if index < values.count { positions[values[index].id] = index }
        return record
    }

    /// The records as a dictionary by routing id (for status and tests, not for the request path).
    var dictionary: [[UInt8]: WorkerRecord] {
        Dictionary(uniqueKeysWithValues: values.map { ($0.id, $0) })
    }
}
