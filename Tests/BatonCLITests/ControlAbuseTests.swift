import Foundation
import Supervisor
import Synchronization
import Testing
import ZeroMQ

/// Peers that abuse the control socket of a real supervisor: floods, frames of the wrong shape, huge frames.
@Suite("The control socket under abuse", .serialized, .timeLimit(.minutes(3)))
struct ControlAbuseTests {
    /// Threads that keep the control socket full of unreadable requests and never read a reply.
    final class Flood: Sendable {
        private let running = Atomic<Bool>(true)
        private let sent = Atomic<Int>(0)
        private let finished = Atomic<Int>(0)
        let threads: Int

        init(endpoint: String, threads: Int) {
            self.threads = threads
            for _ in 0..<threads {
                Thread { [self] in
                    defer { finished.add(1, ordering: .releasing) }
                    guard let context = try? Context() else { return }
                    defer { context.terminate() }
                    guard let socket = try? Socket(context, .dealer) else { return }
                    defer { socket.close() }
                    socket.linger = 0
                    guard (try? socket.connect(endpoint)) != nil else { return }
                    let frames: [[UInt8]] = [[], Array("not json".utf8)]
                    while running.load(ordering: .relaxed) {
                        // Blocks at the high-water mark: the supervisor's queue stays full while it reads.
                        if (try? socket.send(frames: frames, dontWait: true)) == true {
                            sent.add(1, ordering: .relaxed)
                        } else {
                            Thread.sleep(forTimeInterval: 0.000_1)
                        }
                    }
                }.start()
            }
        }

        /// Requests sent so far.
        var requests: Int { sent.load(ordering: .relaxed) }

        /// Stops the threads and waits for them.
        func stop() {
            running.store(false, ordering: .relaxed)
            let deadline = Date().addingTimeInterval(10)
            while finished.load(ordering: .acquiring) < threads && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
    }

    func exchange(_ frames: [[UInt8]], stateDir: String, milliseconds: Int32 = 10_000) throws -> String? {
        try ControlSocketPeer.exchange(frames, stateDir: stateDir, milliseconds: milliseconds)
    }

    @Test("""
        peers that keep the control socket full of unreadable requests do not hold the supervisor: status is \
        answered, a crashed worker is restarted, and SIGTERM stops it in time
        """)
    func floodDoesNotHoldTheSupervisor() throws {
        let serve = try ManagedServe(workers: 1)
        let ready = try #require(serve.waitForStatus("ready") { $0.slots.first?.state == .ready })
        let oldPid = try #require(ready.slots.first?.pid)
        let began = Date()
        let flood = Flood(endpoint: StateDirectory.endpoint(named: "control", in: serve.stateDir), threads: 2)
        defer { flood.stop() }
        let deadline = Date().addingTimeInterval(20)
        while flood.requests < 20_000 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(flood.requests >= 20_000, "the flood is running")

        let during = serve.waitForStatus("answered during the flood") { $0.controlRequestsUnreadable > 0 }
        #expect(during != nil)
        kill(oldPid, SIGKILL)
        serve.waitForStatus("the crashed worker restarted during the flood", seconds: 30) {
            guard let slot = $0.slots.first, let pid = slot.pid else { return false }
            return pid != oldPid && slot.state == .ready
        }
        let sentBeforeStop = flood.requests
        serve.child.signal(SIGTERM)
        let status = serve.child.wait(seconds: 30)
        #expect(status != nil, "baton serve exits on SIGTERM while flooded\n\(serve.child.output.suffix(2_000))")
        #expect(flood.requests > sentBeforeStop, "the flood ran until the end")
        let logged = serve.child.output.components(separatedBy: "control request refused: unreadable").count - 1
        let windows = Int(Date().timeIntervalSince(began) / 10) + 2
        #expect(logged >= 1 && logged <= 20 * windows,
                "the refusals are logged, at most 20 lines per 10 s (\(logged) lines in \(windows - 1) windows)")
    }

    @Test("""
        a control request of more frames than the delimiter and one JSON document, or without the delimiter, is \
        refused saying why, and counted
        """)
    func wrongFrameCountIsRefused() throws {
        let serve = try ManagedServe(workers: 1)
        try #require(serve.waitForStatus("serving") { $0.controlRequestsUnreadable == 0 } != nil)
        let status = Array(#"{"version":1,"command":"status"}"#.utf8)
        let extra = try exchange([[], status, Array("more".utf8)], stateDir: serve.stateDir)
        #expect(extra?.contains(#""reply":"refused""#) == true
                    && extra?.contains("two frames, an empty delimiter and one JSON document (got 3 frames)") == true,
                "\(extra ?? "<no reply>")")
        let bare = try exchange([status], stateDir: serve.stateDir)
        #expect(bare?.contains("(got 1 frame)") == true, "\(bare ?? "<no reply>")")
        serve.waitForStatus("both counted") { $0.controlRequestsUnreadable == 2 }
    }

    @Test("a control frame over 1 MiB is not read: its peer is dropped unanswered, and the supervisor serves on")
    func hugeFrameIsNotRead() throws {
        let serve = try ManagedServe(workers: 1)
        try #require(serve.waitForStatus("serving") { $0.slots.first?.state == .ready } != nil)
        let huge = [UInt8](repeating: UInt8(ascii: " "), count: 2 << 20)
        // A deliberate window: a frame that is read is answered within milliseconds.
        let reply = try exchange([[], huge], stateDir: serve.stateDir, milliseconds: 3_000)
        #expect(reply == nil, "a 2 MiB frame was read and answered: \(reply ?? "")")
        let after = serve.waitForStatus("serving after the huge frame") { $0.slots.first?.state == .ready }
        #expect(after?.controlRequestsUnreadable == 0)
    }

    @Test("""
        reloads refused in a loop are each answered saying why, and logged at most 20 lines per 10 s; an empty \
        worker command is refused, not taken for the current one
        """)
    func refusedReloadsAreAnsweredAndLoggedRateLimited() throws {
        let serve = try ManagedServe(workers: 1)
        let ready = try #require(serve.waitForStatus("ready") { $0.slots.first?.state == .ready })
        let began = Date()
        func reload(_ fields: String) throws -> String? {
            try exchange([[], Array(#"{"version":1,"command":"reload",\#(fields)}"#.utf8)], stateDir: serve.stateDir)
        }
        let timing = #""surge":true,"ready_timeout_seconds":5,"drain_timeout_seconds":1"#
        for _ in 0..<60 {
            let missing = try reload(#""worker_command":["/nonexistent/worker"],\#(timing)"#)
            #expect(missing?.contains("worker command '\\/nonexistent\\/worker' not found") == true, "\(missing ?? "")")
            let outOfRange = try reload(#""surge":true,"ready_timeout_seconds":-1,"drain_timeout_seconds":1e300"#)
            #expect(outOfRange?.contains("the ready and drain timeouts must be") == true, "\(outOfRange ?? "")")
        }
        let empty = try reload(#""worker_command":[],\#(timing)"#)
        #expect(empty?.contains("the worker command is empty") == true, "\(empty ?? "")")
        let after = try #require(serve.status())
        #expect(after.slots.first?.pid == ready.slots.first?.pid && after.slots.first?.generation == 1,
                "no reload ran")
        let logged = serve.child.output.components(separatedBy: "reload refused").count - 1
        let windows = Int(Date().timeIntervalSince(began) / 10) + 1
        #expect(logged >= 1 && logged <= 20 * windows, "\(logged) lines in \(windows) windows for 121 refusals")
    }
}
