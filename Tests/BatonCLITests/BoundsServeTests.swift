import Broker
import Foundation
import Supervisor
import Testing
import ZeroMQ

@Suite("Resource bounds of baton serve: unread replies, message size", .serialized,
       .timeLimit(.minutes(3)))
struct BoundsServeTests {
    @Test("a client that sends 20,000 requests of 8 KiB and never reads leaves the supervisor's memory bounded")
    func unreadRepliesBounded() throws {
        let serve = try ManagedServe(workers: 4, options: ["--max-queued", "100"])
        let ready = serve.waitForStatus("all workers ready") { $0.slots.allSatisfy { $0.state == .ready } }
        let pid = try #require(ready?.pid)
        let before = try #require(residentMiB(pid))
        let context = try Context()
        defer { context.terminate() }
        let flooder = try Socket(context, .dealer)
        defer { flooder.close() }
        flooder.linger = 0
        try flooder.connect(serve.frontend)
        let body = [UInt8](repeating: 0x78, count: 8 << 10)
        for _ in 0..<20_000 { try flooder.send(frames: [[], body]) }
        let done = serve.waitForStatus("every request answered", seconds: 60) {
            $0.broker.requestsReceived == 20_000 && $0.broker.inFlight == 0 && $0.broker.queueDepth == 0
        }
        let after = try #require(residentMiB(pid))
        // The frontend keeps 1,000 unread replies for the client, and the client's own socket 1,000 more: the
        // rest are dropped. Unbounded, the supervisor grew by about 170 MiB here.
        #expect((done?.broker.unreadRepliesDropped ?? 0) >= 15_000, "\(String(describing: done?.broker))")
        #expect(after - before < 80, "RSS went from \(before) MiB to \(after) MiB")
        #expect(try serve.call("still serving") == ["still serving"])
        let (status, output) = try runBaton(["status", "--state-dir", serve.stateDir], directory: serve.directory)
        #expect(status == 0)
        #expect(output.contains("unread replies dropped \(done?.broker.unreadRepliesDropped ?? 0)"), "\(output)")
    }

    @Test("--max-message-size counts a request's frames together: 3 × 1000 bytes against 1024 get too-large")
    func messageSizeSummedOverFrames() throws {
        let serve = try ManagedServe(workers: 1, options: ["--max-message-size", "1024"])
        serve.waitForStatus("the worker is ready") { $0.slots.allSatisfy { $0.state == .ready } }
        let chunk = String(repeating: "a", count: 1000)
        var (status, output) = try runBaton(["call", "--frontend", serve.frontend, chunk, chunk, chunk],
                                            directory: serve.directory)
        #expect(status == 4)
        #expect(output.contains("BATON-ERR too-large: the request is larger than 1024 bytes"), "\(output)")
        (status, output) = try runBaton(["call", "--frontend", serve.frontend, chunk], directory: serve.directory)
        #expect(status == 0 && output == chunk + "\n")
        let report = serve.waitForStatus("the refusal is counted") { $0.broker.tooLarge == 1 }
        #expect(report?.broker.requestsReceived == 2)
    }

    /// A process's resident set size in MiB, from `/proc/PID/status`.
    private func residentMiB(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap({ Int($0) })
        else { return nil }
        return kib / 1024
    }
}
