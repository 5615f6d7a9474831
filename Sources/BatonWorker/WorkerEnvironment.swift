import Foundation

/// The environment contract between the supervisor and a managed worker (docs/workers.md).
///
/// `BATON_BACKEND` is the endpoint to connect to; `BATON_WORKER_ID` is a fresh id for this process that the
/// worker uses as its ZeroMQ routing id; `BATON_SLOT` and `BATON_GENERATION` say where it stands in the pool;
/// `BATON_HEARTBEAT_INTERVAL_MS` and `BATON_HEARTBEAT_LIVENESS` are the broker's heartbeat settings.
/// A worker started by hand sets only the backend (for example from a flag).
public struct WorkerEnvironment: Sendable, Equatable {
    /// Endpoint of the broker's backend.
    public var backend: String
    /// The routing id to use, if the supervisor assigned one.
    public var workerID: [UInt8]?
    /// The pool slot (1…N) of a managed worker.
    public var slot: Int?
    /// The generation of the code this worker runs.
    public var generation: Int?
    /// The broker's heartbeat interval in milliseconds (`BATON_HEARTBEAT_INTERVAL_MS`, or its old name
    /// `BATON_HEARTBEAT_MS`), if it said.
    public var heartbeatIntervalMilliseconds: Int?
    /// Heartbeat intervals the broker waits for a word before it drops this worker
    /// (`BATON_HEARTBEAT_LIVENESS`), if it said.
    public var heartbeatLiveness: Int?

    /// Creates an environment explicitly.
    public init(backend: String, workerID: [UInt8]? = nil, slot: Int? = nil, generation: Int? = nil) {
        self.backend = backend
        self.workerID = workerID
        self.slot = slot
        self.generation = generation
    }

    /// Whether a supervisor started this worker (it set `BATON_WORKER_ID`).
    public var isManaged: Bool { workerID != nil }

    /// Reads the contract from a process environment; `backend` overrides `BATON_BACKEND` when given.
    public static func from(_ environment: [String: String] = ProcessInfo.processInfo.environment,
                            backend: String? = nil) throws(WorkerError) -> WorkerEnvironment {
        guard let endpoint = backend ?? environment["BATON_BACKEND"], !endpoint.isEmpty else {
            throw WorkerError("no backend: set BATON_BACKEND or pass one explicitly")
        }
        let id = environment["BATON_WORKER_ID"].flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        if let id, id.count > 255 { throw WorkerError("BATON_WORKER_ID is longer than 255 bytes") }
        var result = WorkerEnvironment(backend: endpoint, workerID: id,
                                       slot: environment["BATON_SLOT"].flatMap(Int.init),
                                       generation: environment["BATON_GENERATION"].flatMap(Int.init))
        result.heartbeatIntervalMilliseconds = (environment["BATON_HEARTBEAT_INTERVAL_MS"]
            ?? environment["BATON_HEARTBEAT_MS"]).flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil }
        result.heartbeatLiveness = environment["BATON_HEARTBEAT_LIVENESS"].flatMap(Int.init)
            .flatMap { $0 > 0 ? $0 : nil }
        return result
    }
}

/// Why a worker could not start or run.
public struct WorkerError: Error, Sendable, CustomStringConvertible {
    /// A sentence for the log.
    public let description: String

    /// Creates an error with a message.
    public init(_ description: String) {
        self.description = description
    }
}
