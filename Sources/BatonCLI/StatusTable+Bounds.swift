import Broker
import Supervisor

extension StatusTable {
    /// The line on connections and resource bounds: clients against `--max-clients`, descriptors against the
    /// limit, and what was refused or dropped.
    static func bounds(_ broker: BrokerStats, _ descriptors: DescriptorUsage) -> String {
        let connections = broker.connections
        let maxClients = connections.maxClients.map { " (max \($0))" } ?? ""
        return "clients \(connections.clients)\(maxClients), descriptors \(descriptors.open) of \(descriptors.limit), "
            + "refused \(connections.refused), unread replies dropped \(broker.unreadRepliesDropped), "
            + "too large \(broker.tooLarge)\n"
    }
}
