import BatonProtocol
import Testing

@testable import Broker

extension CoreHarness {
    /// A DEALER worker says READY with a capacity (`[0x01]["K"]`) and, if given, capabilities.
    mutating func ready(_ worker: String, capacity: Int, capabilities: String? = nil) {
        workerMessage([bytes(worker), [0x01], bytes("\(capacity)")] + (capabilities.map { [bytes($0)] } ?? []))
    }

    /// The DEALER worker answers the request with this body (which it holds), echoing the body.
    mutating func answer(_ worker: String, body: String, connection: Int32 = -1) {
        guard let request = held(worker).first(where: { $0.body.map(text).joined(separator: "|") == body }) else {
            Issue.record("worker \(worker) does not hold \(body)")
            return
        }
        var out: [BrokerAction] = []
        core.workerMessage([bytes(worker), request.id.token, []] + Array(request.body), now: now,
                           connection: connection, into: &out)
        sent += out
    }

    /// Requests `r<first>` … `r<last>` from client `c`, each in its own message.
    mutating func requests(_ range: ClosedRange<Int>, from client: String = "c") {
        for index in range { request(from: client, "r\(index)") }
    }

    /// Drains a worker.
    mutating func drain(_ worker: String) {
        var out: [BrokerAction] = []
        core.drainWorker(bytes(worker), into: &out)
        sent += out
    }

    /// Workers reported drained so far.
    var drained: [String] {
        sent.compactMap { if case .worker(.drained(let worker)) = $0 { text(worker) } else { nil } }
    }

    /// How many requests a worker holds now.
    func inFlight(_ worker: String) -> Int {
        core.knownWorkers[bytes(worker)]?.inFlight.count ?? 0
    }

    /// The bodies of the replies sent so far (text, `|`-joined), and forgets them.
    mutating func takeReplyBodies() -> [String] {
        takeReplies().map { $0.body.joined(separator: "|") }
    }
}
