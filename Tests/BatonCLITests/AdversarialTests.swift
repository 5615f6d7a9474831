import Foundation
import Supervisor
import Testing

@testable import BatonCLI

/// Promises that a hostile local user, a fault or a careless operator could break: each test states one.
@Suite("Adversarial: what a hostile peer, a fault or a typo must not do to a running supervisor", .serialized,
       .timeLimit(.minutes(3)))
struct AdversarialTests {
    func script(_ body: String, in directory: String) throws -> String {
        let path = directory + "/worker.sh"
        try "#!/bin/sh\n\(body)\nexec \"\(Harness.exampleWorkerPath)\"\n".write(toFile: path, atomically: true,
                                                                                   encoding: .utf8)
        _ = chmod(path, 0o755)
        return path
    }

    func serve(_ directory: String, _ extra: [String] = [], command: [String] = [], prefix: [String] = [],
               mark: String = "none") throws -> Child {
        let arguments = ["serve", "--frontend", "ipc://\(directory)/fe", "--state-dir", directory + "/state",
                         "--heartbeat-interval", "200", "--stop-grace", "1"] + extra + (command.isEmpty ? [] : ["--"] + command)
        let executable = prefix.isEmpty ? Harness.batonPath : prefix[0]
        return try Child(executable, Array(prefix.dropFirst()) + (prefix.isEmpty ? [] : [Harness.batonPath]) + arguments,
                         name: "serve-\(UUID().uuidString.prefix(6))", directory: directory,
                         environment: ["TREE_MARK": mark])
    }

    func statusReport(_ directory: String) -> StatusReport? {
        guard let (status, output) = try? runBaton(["status", "--state-dir", directory + "/state", "--json",
                                                    "--timeout", "2"], directory: directory, seconds: 10),
              status == 0 else { return nil }
        return try? JSONDecoder().decode(StatusReport.self, from: Data(output.utf8))
    }

    func waitReady(_ directory: String, slots: Int) -> StatusReport? {
        var last: StatusReport?
        _ = eventually(20) {
            last = statusReport(directory)
            return last?.slots.count == slots && last?.slots.allSatisfy { $0.state == .ready } == true
        }
        return last
    }

    /// Zombie children of `pid`.
    func zombieChildren(of pid: Int32) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.filter { name in
            guard let child = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && fields[0] == "Z" && Int32(fields[1]) == pid
        }.count
    }

    @Test("orphans that a running worker leaves (a daemonising helper) are reaped, not piled up as zombies")
    func orphansAreReaped() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let worker = try script("( while :; do (sleep 0.01 &); (setsid sleep 0.01 &); sleep 0.05; done ) &",
                                in: directory)
        let serve = try serve(directory, ["--workers", "1"], command: [worker])
        #expect(waitReady(directory, slots: 1) != nil, "\(serve.output)")
        Thread.sleep(forTimeInterval: 3)  // the helper orphans about 40 processes a second
        let supervisor = serve.process.processIdentifier
        #expect(eventually(2) { zombieChildren(of: supervisor) < 10 },
                "zombie children of the supervisor: \(zombieChildren(of: supervisor))")
        serve.signal(SIGTERM)
        #expect(serve.wait(seconds: 20) == 0)
    }

    @Test("a daemon that a worker started (setsid) ends when that worker is replaced, not only when Baton stops")
    func daemonEndsWithItsWorker() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let mark = UUID().uuidString
        let worker = try script("setsid sleep 600 </dev/null >/dev/null 2>&1 &", in: directory)
        let serve = try serve(directory, ["--workers", "1"], command: [worker], mark: mark)
        let before = try #require(waitReady(directory, slots: 1), "\(serve.output)")
        let supervisor = serve.process.processIdentifier
        let sleeps = { markedProcesses(mark, except: [supervisor]).filter { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("sleep") == true
        } }
        #expect(eventually(5) { sleeps().count == 1 })
        let first = sleeps()
        kill(try #require(before.slots.first?.pid), SIGKILL)
        #expect(eventually(10) {
            guard let pid = statusReport(directory)?.slots.first?.pid else { return false }
            return pid != before.slots.first?.pid
        }, "the slot was not refilled")
        #expect(waitReady(directory, slots: 1) != nil)
        // The replaced worker's daemon is gone (after the stop grace); the new worker's is running.
        #expect(eventually(5) { let now = sleeps(); return now.count == 1 && Set(now).isDisjoint(with: first) },
                "daemons alive: \(sleeps()), the first worker's: \(first)")
        serve.signal(SIGTERM)
        #expect(serve.wait(seconds: 20) == 0)
    }

    @Test("a reload whose ready timeout overflows the clock is a usage error; sent anyway, the supervisor refuses it")
    func hugeReloadTimeout() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let serve = try serve(directory, ["--workers", "1"])
        let before = try #require(waitReady(directory, slots: 1), "\(serve.output)")
        // The command line knows the bound: a usage error, before any supervisor is asked.
        let (status, output) = try runBaton(["reload", "--state-dir", directory + "/state", "--ready-timeout", "1e11"],
                                            directory: directory, seconds: 60)
        #expect(status == 64, "\(output)")
        #expect(output.contains("--ready-timeout must be above 0"), "\(output)")
        // A control peer that skips the command line's check gets a refusal, and the supervisor serves on.
        let client = try ControlClient(stateDir: directory + "/state")
        try client.send(.reload(ReloadRequest(command: nil, surge: true, readyTimeoutSeconds: 1e11,
                                              drainTimeoutSeconds: 1)))
        let answer = try client.receive(timeout: 10)
        guard case .refused(let reason) = answer else {
            Issue.record("expected a refusal, got \(answer)")
            return
        }
        #expect(reason.contains("timeouts must be"), "\(reason)")
        #expect(serve.process.isRunning, "\(serve.output.suffix(2000))")
        let after = try #require(statusReport(directory))
        #expect(after.slots.map(\.pid) == before.slots.map(\.pid), "no worker was replaced")
        #expect(after.slots.map(\.generation) == [1])
        serve.signal(SIGTERM)
        #expect(serve.wait(seconds: 20) == 0)
    }

    @Test("""
        200 idle connections to the metrics port, under a 128-descriptor limit, are all accepted in turn and do \
        not shut the broker and the workers down
        """)
    func metricsConnectionFlood() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let serve = try serve(directory, ["--workers", "1", "--metrics", "127.0.0.1:0"],
                              prefix: ["/usr/bin/prlimit", "--nofile=128:128"])
        let port = try #require(serve.metricsPort(), "\(serve.output)")
        let ready = try #require(waitReady(directory, slots: 1), "\(serve.output)")
        var connections: [Int32] = []
        defer { for fd in connections { close(fd) } }
        for _ in 0..<200 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else {
                close(fd)
                break
            }
            connections.append(fd)
        }
        #expect(connections.count == 200, "only \(connections.count) of 200 connections were established")
        // The server took every one: it keeps at most 32 open, evicting the oldest for each newcomer.
        let counted = HTTPProbe.waitFor(port: port, "/metrics", "the flood's evictions counted") {
            (sample($0.body, "baton_metrics_http_connections_total{outcome=\"evicted\"}") ?? 0) >= 200 - 32
        }
        #expect((sample(counted?.body ?? "", "baton_metrics_http_connections_open") ?? .infinity) <= 32)
        #expect(HTTPProbe.get(port: port, "/healthz")?.status == 200)
        #expect(!serve.output.contains("stopping workers"), "\(serve.output.suffix(2000))")
        let after = statusReport(directory)
        #expect(after?.slots.first?.state == .ready, "the supervisor no longer answers, or its worker is gone")
        #expect(after?.slots.first?.pid == ready.slots.first?.pid, "the worker was restarted")
        for fd in connections { close(fd) }
        connections = []
        serve.signal(SIGTERM)
        #expect(serve.wait(seconds: 20) != nil, "serve did not exit after SIGTERM")
    }

    @Test("clients that send long header lines to the metrics port keep neither /healthz nor SIGTERM from working")
    func metricsLongHeader() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let serve = try serve(directory, ["--workers", "1", "--metrics", "127.0.0.1:0"])
        let port = try #require(serve.metricsPort(), "\(serve.output)")
        // One such client per thread of the Swift concurrency pool (as many as cores), and one more.
        let clients = ProcessInfo.processInfo.activeProcessorCount + 1
        for _ in 0..<clients {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(connected == 0, "cannot connect to the metrics port: errno \(errno)")
            let request = Array("GET /metrics HTTP/1.1\r\nX-A: ".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 512 << 10)
            let sent = send(fd, request, request.count, Int32(MSG_NOSIGNAL))
            #expect(sent > 8 << 10, "sent \(sent) bytes of the long header")
            close(fd)
        }
        // Each head was refused as too large (431), not held.
        HTTPProbe.waitFor(port: port, "/metrics", "the long heads refused") {
            (sample($0.body, "baton_metrics_http_connections_total{outcome=\"refused\"}") ?? 0) >= Double(clients)
        }
        #expect(HTTPProbe.get(port: port, "/healthz", seconds: 5)?.status == 200)
        serve.signal(SIGTERM)
        #expect(serve.wait(seconds: 20) == 0, "serve still runs 20 s after SIGTERM, or did not stop gracefully")
    }
}
