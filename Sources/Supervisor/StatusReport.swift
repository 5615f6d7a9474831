import BatonProtocol
import Broker
import Store

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
    /// Control requests refused because the peer was neither the supervisor's uid nor root.
    public var controlPeersRefused = 0

    /// Creates a report.
    public init(pid: Int32, command: String, slots: [SlotStatus], broker: BrokerStats, history: RecorderStats? = nil) {
        self.pid = pid
        self.command = command
        self.slots = slots
        self.broker = broker
        self.history = history
    }
}
