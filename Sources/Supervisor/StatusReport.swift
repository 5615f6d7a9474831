import BatonProtocol
import Broker

/// What `baton status` shows: the supervisor, its slots and its broker.
public struct StatusReport: Sendable, Codable, Equatable {
    /// The supervisor's pid.
    public var pid: Int32
    /// The worker command.
    public var command: String
    /// Every slot.
    public var slots: [SlotStatus]
    /// The broker's counters (queue depth and in-flight included).
    public var broker: BrokerStats
    /// How long requests took from arrival to reply, since the supervisor started (nil from older supervisors).
    public var requestLatency: LatencyHistogram?
    /// The history recorder's counters (nil when recording is off): rows written, events dropped, failed writes.
    public var history: RecorderStats?
    /// The supervisor's descriptors in use and its limit (nil from a supervisor that did not report them).
    public var descriptors: DescriptorUsage?
    /// Control requests refused because the peer was neither the supervisor's uid nor root.
    public var controlPeersRefused = 0
    /// Control requests refused because they could not be read: malformed or not two frames, another control
    /// protocol version, or an unknown command.
    public var controlRequestsUnreadable = 0
    /// Workers the broker knows that no slot started (they connected on their own).
    public var externalWorkers: [ExternalWorkerStatus] = []

    /// Creates a report.
    public init(pid: Int32, command: String, slots: [SlotStatus], broker: BrokerStats, history: RecorderStats? = nil) {
        self.pid = pid
        self.command = command
        self.slots = slots
        self.broker = broker
        self.history = history
    }
}

/// A worker connected on its own (not in a slot), as `baton status` shows it.
public struct ExternalWorkerStatus: Sendable, Codable, Equatable {
    /// Its name, as history and logs show it (``WorkerID/name``: its routing id as text, or `ext-HEX`).
    public var id: String
    /// Requests it holds now.
    public var inFlight: Int
    /// Requests it may hold at once.
    public var capacity: Int
    /// Requests it has answered.
    public var served: UInt64
    /// Sessions it holds now.
    public var sessions: Int

    /// Creates an external worker's status.
    public init(id: String, inFlight: Int, capacity: Int, served: UInt64, sessions: Int = 0) {
        self.id = id
        self.inFlight = inFlight
        self.capacity = capacity
        self.served = served
        self.sessions = sessions
    }
}
