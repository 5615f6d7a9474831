import Foundation
import Supervisor
import Testing
import ZeroMQ

/// The control protocol's version check against a real supervisor: raw frames on its control socket.
@Suite("The control protocol against a running supervisor", .serialized, .timeLimit(.minutes(2)))
struct ControlProtocolTests {
    /// Sends one raw JSON frame on the control socket and returns the reply's JSON frame as text.
    func exchange(_ json: String, stateDir: String) throws -> String {
        try ControlSocketPeer.exchange(json: json, stateDir: stateDir) ?? "<no reply>"
    }

    @Test("""
        a request of another version, without a version, or with an unknown command is refused saying why; \
        each is counted, and the supervisor serves on
        """)
    func unreadableRequestsAreRefused() throws {
        let serve = try ManagedServe(workers: 1)
        let before = try #require(serve.waitForStatus("ready") { $0.slots.first?.state == .ready })
        #expect(before.controlRequestsUnreadable == 0)
        let refusals: [(request: String, reason: String)] = [
            (#"{"version":2,"command":"status"}"#, "unsupported control protocol version 2: this side speaks version 1"),
            (#"{"status":{}}"#, "unsupported control protocol version (none given)"),
            (#"{"version":1,"command":"launch"}"#, #"unknown control command \"launch\" (known: status, stop, reload)"#),
            ("not json", "malformed control request"),
        ]
        for (request, reason) in refusals {
            let reply = try exchange(request, stateDir: serve.stateDir)
            #expect(reply.contains(#""reply":"refused""#) && reply.contains(reason), "\(request) → \(reply)")
            #expect(reply.contains(#""version":1"#), "a refusal names the version it speaks: \(reply)")
        }
        let after = try #require(serve.waitForStatus("counted") { $0.controlRequestsUnreadable == refusals.count })
        #expect(after.slots.first?.pid == before.slots.first?.pid, "the worker was not disturbed")
        let (status, table) = try runBaton(["status", "--state-dir", serve.stateDir], directory: serve.directory)
        #expect(status == 0 && table.contains("control: 4 requests refused (unreadable: another protocol version"),
                "\(table)")
        #expect(try exchange(#"{"command":"status","version":1}"#, stateDir: serve.stateDir)
                    .hasPrefix(#"{"reply":"status","status":{"#))
    }
}
