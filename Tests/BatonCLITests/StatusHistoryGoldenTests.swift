import BatonProtocol
import Broker
import Foundation
import Store
import Supervisor
import Testing

@testable import BatonCLI

@Suite("Golden status lines about history")
struct StatusHistoryGoldenTests {
    func report(_ history: RecorderStats) -> StatusReport {
        var broker = BrokerStats()
        broker.requestsReceived = 90
        return StatusReport(pid: 4242, command: "/opt/game/server", slots: [
            SlotStatus(slot: 1, state: .ready, pid: 5001, workerID: "r-1-1", generation: 1754000000, uptimeSeconds: 75,
                       restarts: 0, lastExit: nil, failure: nil, served: 90),
        ], broker: broker, history: history)
    }

    @Test("status shows the database size, and history degraded with its reason and what waits")
    func degradedAndSize() throws {
        var history = RecorderStats()
        history.state = .degraded
        history.problem = "cannot write /var/lib/baton/baton.sqlite: SQLite error 13: database or disk is full — "
            + "free disk space, move the file aside, or run with --no-history"
        history.waitingEvents = 2710
        history.fileBytes = 1_181_116_006
        history.usedBytes = 1_073_741_824
        history.requestRows = 5_000_000
        history.failedBatches = 3
        try expectGolden("status-history.txt", StatusTable(report(history)).render())
    }
}
