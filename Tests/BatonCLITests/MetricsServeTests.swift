import Foundation
import Supervisor
import Testing

@Suite("serve --metrics: health, readiness and supervisor numbers over HTTP", .serialized, .timeLimit(.minutes(3)))
struct MetricsServeTests {
    @Test("/readyz is 503 with no worker, 200 once an external worker is READY, and 503 during the shutdown drain")
    func readinessFollowsWorkersAndDrain() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (serve, frontend, backend) = try ServedBroker.start(in: directory, ["--metrics", "127.0.0.1:0",
                                                                                "--drain-timeout", "20"])
        let port = try #require(serve.metricsPort(), "\(serve.output)")
        #expect(HTTPProbe.get(port: port, "/healthz")?.status == 200)
        let idle = HTTPProbe.get(port: port, "/readyz")
        #expect(idle?.status == 503)
        #expect(idle?.body == "no worker is ready\n")
        #expect(HTTPProbe.get(port: port, "/nothing-here")?.status == 404)

        let worker = try Child(Harness.exampleWorkerPath, ["--backend", backend, "--work-ms", "2500"], name: "worker",
                               directory: directory)
        defer { worker.signal(SIGKILL) }
        HTTPProbe.waitFor(port: port, "/readyz", "200 once the worker is READY") { $0.status == 200 }

        let call = try Child.baton(["call", "--frontend", frontend, "slow"], name: "call", directory: directory)
        HTTPProbe.waitFor(port: port, "/metrics", "the request in flight") {
            sample($0.body, "baton_requests_in_flight") == 1
        }
        serve.signal(SIGTERM)
        let draining = HTTPProbe.waitFor(port: port, "/readyz", "503 while draining") { $0.status == 503 }
        #expect(draining?.body == "draining: Baton is shutting down\n")
        #expect(HTTPProbe.get(port: port, "/healthz")?.status == 200, "the broker loop still runs while it drains")
        #expect(call.wait() == 0)
        #expect(call.output == "slow\n")
        #expect(serve.wait() == 0, "\(serve.output)")
        #expect(HTTPProbe.get(port: port, "/healthz") == nil, "nothing listens once serve has exited")
    }

    @Test("a crash, a reload and a refused reload show in restarts, reloads, workers and the generation info")
    func supervisorNumbers() throws {
        let serve = try ManagedServe(workers: 1, options: ["--metrics", "127.0.0.1:0", "--restart-delay", "10"])
        let port = try #require(serve.child.metricsPort(), "\(serve.child.output)")
        let ready = serve.waitForStatus("ready") { $0.slots.first?.state == .ready }
        let victim = try #require(ready?.slots.first?.pid)
        let first = HTTPProbe.waitFor(port: port, "/metrics", "one ready worker") {
            sample($0.body, "baton_workers{state=\"ready\"}") == 1
        }?.body ?? ""
        let info = /baton_generation_info\{generation="1",digest="([0-9a-f]{64})"\}/
        let digest = try #require(first.firstMatch(of: info), "\(first)")

        kill(victim, SIGKILL)
        HTTPProbe.waitFor(port: port, "/metrics", "the crash counted and the slot back") {
            sample($0.body, "baton_worker_restarts_total{reason=\"crashed\"}") == 1
                && sample($0.body, "baton_workers{state=\"ready\"}") == 1
        }

        let (reloaded, reloadOutput) = try runBaton(["reload", "--state-dir", serve.stateDir],
                                                    directory: serve.directory, seconds: 60)
        #expect(reloaded == 0, "\(reloadOutput)")
        let (refused, refusal) = try runBaton(["reload", "--state-dir", serve.stateDir, "--", "/nonexistent/worker"],
                                              directory: serve.directory)
        #expect(refused == 1 && refusal.contains("reload failed:"), "refused, not any failure: \(refusal)")
        let after = HTTPProbe.get(port: port, "/metrics")?.body ?? ""
        #expect(sample(after, "baton_reloads_total{result=\"succeeded\"}") == 1, "\(after)")
        #expect(sample(after, "baton_reloads_total{result=\"refused\"}") == 1)
        #expect(sample(after, "baton_reloads_total{result=\"rolled-back\"}") == 0)
        #expect(sample(after, "baton_reload_duration_seconds_count") == 1)
        #expect(sample(after, "baton_generation_info{generation=\"2\",digest=\"\(digest.1)\"}") == 1,
                "the same binary, so the same digest")
        #expect(!after.contains("generation=\"1\""))
        serve.child.signal(SIGTERM)
        #expect(serve.child.wait() == 0)
    }

    @Test("/healthz answers 100 probes within 1 s each while 400 slowloris connections hold the metrics port")
    func probesOutlastSlowloris() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (serve, _, _) = try ServedBroker.start(in: directory, ["--metrics", "127.0.0.1:0"])
        let port = try #require(serve.metricsPort(), "\(serve.output)")
        let attacker = Slowloris(port: port, connections: 400)
        #expect(attacker.start(), "the attack never got its 400 connections: \(attacker.counts)")

        let (failures, slowest) = HTTPProbe.probe(port: port, "/healthz", count: 100)
        let attack = attacker.counts
        let during = HTTPProbe.get(port: port, "/metrics", seconds: 5)?.body ?? ""
        attacker.stop()
        #expect(failures.isEmpty,
                "\(failures.count) of 100 probes failed (slowest \(slowest) s): \(failures.prefix(10))")
        #expect(attack.closedByServer > 0, "\(attack)")
        let evicted = sample(during, "baton_metrics_http_connections_total{outcome=\"evicted\"}") ?? 0
        #expect(evicted > 0, "\(during)")
        #expect((sample(during, "baton_metrics_http_connections_total{outcome=\"answered\"}") ?? 0) >= 100)
        #expect((sample(during, "baton_metrics_http_connections_open") ?? .infinity) <= 32)
        let logged = serve.output.components(separatedBy: "metrics connections full").count - 1
        #expect((1...5).contains(logged), "evictions are logged, at most 5 lines a minute: \(logged)")
        print("slowloris: 400 connections, \(failures.count) of 100 probes failed, slowest \(slowest) s, "
              + "\(Int(evicted)) evicted, attacker \(attack)")

        // Connections that send nothing are closed after the head deadline (2 s), and counted.
        let idle = Slowloris(port: port, connections: 5, byteInterval: 3600)
        idle.start(waitingUpTo: 0)
        let idleDeadline = Date().addingTimeInterval(15)
        while idle.counts.closedByServer < 5 && Date() < idleDeadline { Thread.sleep(forTimeInterval: 0.05) }
        idle.stop()
        #expect(idle.counts.closedByServer >= 5, "\(idle.counts)")
        let after = HTTPProbe.get(port: port, "/metrics")?.body ?? ""
        #expect((sample(after, "baton_metrics_http_connections_total{outcome=\"timed-out\"}") ?? 0) >= 5, "\(after)")
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0, "\(serve.output.suffix(2000))")
    }

    @Test("""
        under a 256-descriptor limit, 300 frontend clients and 200 slowloris connections leave /healthz \
        answering 50 probes within 1 s each
        """)
    func probesOutlastDescriptorPressure() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let frontend = "ipc://\(directory)/fe"
        let serve = try Child("/usr/bin/prlimit", ["--nofile=256:256", Harness.batonPath, "serve",
                                                   "--frontend", frontend, "--backend", "ipc://\(directory)/be",
                                                   "--state-dir", directory + "/state", "--workers", "0",
                                                   "--metrics", "127.0.0.1:0"],
                              name: "serve", directory: directory)
        defer { serve.signal(SIGKILL) }
        let port = try #require(serve.metricsPort(), "\(serve.output)")
        let clients = try Child.python("idle_clients.py", [frontend, "300", "--wait-ms", "500", "--hold-ms", "60000"],
                                       name: "clients", directory: directory)
        defer { clients.signal(SIGKILL) }
        #expect(clients.waitForOutput("replies"), "\(clients.output)")
        let attacker = Slowloris(port: port, connections: 200)
        #expect(attacker.start(), "the attack never got its 200 connections: \(attacker.counts)")

        let (failures, _) = HTTPProbe.probe(port: port, "/healthz", count: 50)
        let scrape = HTTPProbe.get(port: port, "/metrics", seconds: 5)?.body ?? ""
        attacker.stop()
        #expect(failures.isEmpty, "\(failures.count) of 50 probes failed: \(failures.prefix(10))")
        #expect((sample(scrape, "process_open_fds") ?? .infinity) < 256, "\(scrape)")
        #expect((sample(scrape, "baton_metrics_http_connections_total{outcome=\"evicted\"}") ?? 0) > 0)
        serve.signal(SIGTERM)
        #expect(serve.wait() == 0, "\(serve.output.suffix(2000))")
    }

    @Test("a metrics address that is malformed or in use stops serve at start-up with status 2")
    func badAddressStopsServe() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/a", withIntermediateDirectories: true)
        let (first, _, _) = try ServedBroker.start(in: directory + "/a", ["--metrics", "127.0.0.1:0"])
        let port = try #require(first.metricsPort())
        for (address, message) in [("127.0.0.1:\(port)", "Address already in use"), ("somewhere", "HOST:PORT")] {
            let (status, output) = try runBaton(["serve", "--frontend", "ipc://\(directory)/fe", "--workers", "0",
                                                 "--state-dir", directory + "/state", "--metrics", address],
                                                directory: directory)
            #expect(status == 2, "\(output)")
            #expect(output.contains(message), "\(output)")
        }
        first.signal(SIGTERM)
        #expect(first.wait() == 0)
    }
}
