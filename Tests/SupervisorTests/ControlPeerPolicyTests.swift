import BatonProtocol
import Broker
import Foundation
import Testing
import ZeroMQ

@testable import Supervisor

@Suite("Who may send control commands")
struct ControlPeerPolicyTests {
    @Test("the supervisor's own uid and root may; another uid, or a peer without credentials, may not")
    func allows() {
        #expect(ControlPeerPolicy.allows(PeerCredentials(uid: 1000, gid: 1000, pid: 9), ownerUID: 1000))
        #expect(ControlPeerPolicy.allows(PeerCredentials(uid: 0, gid: 0, pid: 9), ownerUID: 1000))
        #expect(ControlPeerPolicy.allows(PeerCredentials(uid: 0, gid: 0, pid: 9), ownerUID: 0))
        #expect(!ControlPeerPolicy.allows(PeerCredentials(uid: 1001, gid: 1000, pid: 9), ownerUID: 1000))
        #expect(!ControlPeerPolicy.allows(PeerCredentials(uid: 65534, gid: 0, pid: 9), ownerUID: 0))
        #expect(!ControlPeerPolicy.allows(nil, ownerUID: 0))
    }

    @Test("a refused peer gets a reason naming its uid and is counted; an allowed one gets none")
    func refusalReason() {
        let log = LogCollector()
        var policy = ControlPeerPolicy(ownerUID: 1000)
        #expect(policy.refusal(peerAddress: "localhost:0:0:42", logger: log.logger) == nil)
        #expect(policy.refusal(peerAddress: "localhost:1000:1000:42", logger: log.logger) == nil)
        #expect(policy.refused == 0)
        #expect(log.lines.isEmpty)
        #expect(policy.refusal(peerAddress: "localhost:65534:65534:42", logger: log.logger)
            == "permission denied: uid 65534 may not control a supervisor running as uid 1000 "
            + "(only that uid and root may)")
        #expect(policy.refusal(peerAddress: "127.0.0.1", logger: log.logger)?.hasPrefix("permission denied") == true)
        #expect(policy.refusal(peerAddress: nil, logger: log.logger) != nil)
        #expect(policy.refused == 3)
        #expect(log.lines.count == 3)
        #expect(log.lines.first?.contains("peer=uid 65534 gid 65534 pid 42") == true, "\(log.lines)")
    }

    @Test("refusals are logged at most 20 times per 10 seconds, and the next line says how many were not")
    func rateLimitedLog() {
        let log = LogCollector()
        var policy = ControlPeerPolicy(ownerUID: 0)
        let start = Instant.zero + .seconds(1_000)
        for index in 0..<25 {
            _ = policy.refusal(peerAddress: "localhost:7:7:\(index)", logger: log.logger,
                               now: start + TimeSpan(nanoseconds: UInt64(index)))
        }
        #expect(log.lines.count == 20)
        _ = policy.refusal(peerAddress: "localhost:7:7:99", logger: log.logger,
                           now: start + .seconds(10))
        #expect(log.lines.count == 21)
        #expect(log.lines.last?.contains("not_logged=5") == true)
        #expect(policy.refused == 26)
    }
}
