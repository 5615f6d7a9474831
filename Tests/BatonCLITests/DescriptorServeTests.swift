import Broker
import Foundation
import Supervisor
import Testing
import ZeroMQ

@Suite("baton serve under a small descriptor limit", .serialized, .timeLimit(.minutes(3)))
struct DescriptorServeTests {
    @Test("under a 256-descriptor limit, 300 idle clients and a burst of 300 more neither abort nor starve it")
    func descriptorExhaustion() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let stateDir = directory + "/state"
        let frontend = "ipc://\(directory)/fe"
        let serve = try Child("/usr/bin/prlimit", ["--nofile=256:256", Harness.batonPath, "serve",
                                                   "--frontend", frontend, "--state-dir", stateDir, "--workers", "2"],
                              name: "serve", directory: directory)
        defer { serve.signal(SIGKILL) }
        let ready = waitForStatus("both workers are ready",
                                  stateDir: stateDir, directory: directory, log: serve) {
            $0.slots.allSatisfy { $0.state == .ready }
        }
        let maxClients = try #require(ready?.broker.connections.maxClients)
        #expect(ready?.descriptors?.limit == 256)
        #expect(maxClients > 50 && maxClients < 256 - 64)

        // A burst from another process, as fast as pyzmq connects, then 300 clients from this one.
        let burst = try Child.python("idle_clients.py", [frontend, "300", "--wait-ms", "2000"], name: "burst",
                                     directory: directory)
        defer { burst.signal(SIGKILL) }
        #expect(burst.waitForOutput("connected"), "\(burst.output)")
        let context = try Context()
        defer { context.terminate() }
        var clients: [Socket] = []
        defer { for client in clients { client.close() } }
        var poller = Poller()
        for index in 0..<300 {
            let client = try Socket(context, .dealer)
            client.linger = 0
            try client.connect(frontend)
            try client.send(frames: [[], Array("client \(index)".utf8)], dontWait: true)
            poller.add(client)
            clients.append(client)
        }
        // Every admitted client is served (connections in their handshake count against the bound too, so
        // in a burst fewer than --max-clients may be admitted); the others got no connection.
        var replies = 0
        var lastReply = Date()
        while Date().timeIntervalSince(lastReply) < 1 {
            try poller.poll(timeoutMilliseconds: 100)
            for index in clients.indices where poller.isReady(index) {
                while try clients[index].receive(dontWait: true) != nil {
                    replies += 1
                    lastReply = Date()
                }
            }
        }
        #expect(burst.wait() == 0, "\(burst.output)")
        let burstReplies = try #require(burst.output.split(separator: "\n").last { $0.hasPrefix("replies ") }
            .flatMap { Int($0.dropFirst("replies ".count)) })
        let full = waitForStatus("every reply is counted", stateDir: stateDir, directory: directory, log: serve) {
            $0.broker.repliesForwarded == UInt64(replies + burstReplies)
        }
        #expect(full != nil, "\(serve.output)")
        #expect(replies + burstReplies > 0 && replies + burstReplies <= maxClients)
        #expect((full?.broker.connections.clients ?? .max) <= maxClients)
        #expect((full?.broker.connections.clientsOverLimit ?? 0) > 0)
        #expect((full?.descriptors?.open ?? .max) < 256)
        #expect(serve.process.isRunning, "\(serve.output)")

        for client in clients { client.close() }
        clients.removeAll()
        _ = waitForStatus("every client has gone",
                          stateDir: stateDir, directory: directory, log: serve) { $0.broker.connections.clients == 0 }
        let (status, output) = try runBaton(["call", "--frontend", frontend, "after the flood"], directory: directory)
        #expect(status == 0 && output == "after the flood\n", "\(output)")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0, "\(serve.output)")
        #expect(!serve.output.contains("Too many open files"), "\(serve.output)")
    }

    @Test("with --max-clients beyond the descriptors, the last connections are closed at accept: no abort, no spin")
    func descriptorsRunOut() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let stateDir = directory + "/state"
        let frontend = "ipc://\(directory)/fe"
        let serve = try Child("/usr/bin/prlimit", ["--nofile=256:256", Harness.batonPath, "serve",
                                                   "--frontend", frontend, "--state-dir", stateDir, "--workers", "2",
                                                   "--max-clients", "1000"],
                              name: "serve", directory: directory)
        defer { serve.signal(SIGKILL) }
        let ready = waitForStatus("both workers are ready",
                                  stateDir: stateDir, directory: directory, log: serve) {
            $0.slots.allSatisfy { $0.state == .ready }
        }
        let pid = try #require(ready?.pid)
        #expect(serve.output.contains("--max-clients is more than the descriptor limit leaves room for"))

        let context = try Context()
        defer { context.terminate() }
        var clients: [Socket] = []
        defer { for client in clients { client.close() } }
        for _ in 0..<300 {
            let client = try Socket(context, .dealer)
            client.linger = 0
            try client.connect(frontend)
            clients.append(client)
        }
        // 300 connections cannot fit in 256 descriptors: wait until the last ones are being closed at accept.
        let deadline = Date().addingTimeInterval(15)
        while openDescriptors(pid) < 250 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(openDescriptors(pid) >= 250)
        let before = cpuTicks(pid)
        Thread.sleep(forTimeInterval: 1)
        let used = cpuTicks(pid) - before
        // A listener spinning on EMFILE would burn about 100 ticks (a second of a core) here.
        #expect(used < 50, "the supervisor used \(used) ticks of CPU in 1 s while out of descriptors")
        #expect(serve.process.isRunning, "\(serve.output)")

        for client in clients { client.close() }
        clients.removeAll()
        let recovered = waitForStatus("every client has gone",
                                      stateDir: stateDir, directory: directory, log: serve) {
            $0.broker.connections.clients == 0
        }
        #expect((recovered?.descriptors?.droppedAtLimit ?? 0) > 0)
        let (status, output) = try runBaton(["call", "--frontend", frontend, "recovered"], directory: directory)
        #expect(status == 0 && output == "recovered\n", "\(output)")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0, "\(serve.output)")
        #expect(!serve.output.contains("Too many open files"), "\(serve.output)")
    }

    private func openDescriptors(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }

    /// User and system CPU time of a process, in clock ticks, from `/proc/PID/stat`.
    private func cpuTicks(_ pid: Int32) -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }
}
