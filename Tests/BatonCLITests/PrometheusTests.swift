import Foundation
import Testing

@Suite("A real Prometheus scrapes baton serve", .serialized, .timeLimit(.minutes(3)),
       .enabled(if: PrometheusTools.directory != nil,
                "prometheus and promtool are missing and scripts/ensure-deps --test could not install them"))
struct PrometheusTests {
    @Test("Prometheus counts every request sent, promtool accepts the exposition, and the dashboard's queries run")
    func prometheusCountsRequests() throws {
        let requests = 300
        let serve = try ManagedServe(workers: 2, options: ["--metrics", "127.0.0.1:0"])
        let port = try #require(serve.child.metricsPort(), "\(serve.child.output)")
        HTTPProbe.waitFor(port: port, "/readyz", "a worker READY") { $0.status == 200 }

        let scrape = try #require(HTTPProbe.get(port: port, "/metrics"))
        #expect(scrape.status == 200)
        let (lint, problems) = try PrometheusTools.checkMetrics(scrape.body, in: serve.directory)
        #expect(lint == 0, "promtool check metrics: \(problems)")
        #expect(problems.isEmpty, "\(problems)")

        let prometheus = try PrometheusServer(scraping: port, in: serve.directory)
        prometheus.waitFor("up{job=\"baton\"}") { $0 == 1 }
        let bench = try Child.baton(["bench", "--frontend", serve.frontend, "--total", "\(requests)", "--clients", "4",
                                     "--json"], name: "bench", directory: serve.directory)
        #expect(bench.wait(seconds: 60) == 0, "\(bench.output)")
        let replied = prometheus.waitFor("baton_requests_total{outcome=\"replied\"}") { $0 == Double(requests) }
        #expect(replied == Double(requests))
        #expect(prometheus.query("sum(baton_requests_total)")?.values == [Double(requests)])
        #expect(prometheus.query("baton_request_duration_seconds_count")?.values == [Double(requests)])
        #expect(prometheus.query("baton_queue_wait_seconds_count")?.values == [Double(requests)])
        #expect(prometheus.query("sum(baton_workers{state=\"ready\"})")?.values == [2])

        for expression in try GrafanaDashboard.expressions() {
            #expect(prometheus.query(expression)?.status == "success", "the dashboard's query \(expression)")
        }
        serve.child.signal(SIGTERM)
        #expect(serve.child.wait() == 0)
    }
}

@Suite("The Grafana dashboard", .serialized, .timeLimit(.minutes(2)))
struct GrafanaDashboardTests {
    @Test("it is valid JSON, and every metric it queries appears in a live scrape")
    func dashboardMatchesTheScrape() throws {
        let names = try GrafanaDashboard.metricNames()
        #expect(try GrafanaDashboard.expressions().count >= 10)
        #expect(names.isSuperset(of: ["baton_requests_total", "baton_request_duration_seconds_bucket",
                                       "baton_queue_depth", "baton_workers", "baton_worker_restarts_total",
                                       "baton_reloads_total", "baton_generation_info"]))
        let serve = try ManagedServe(workers: 1, options: ["--metrics", "127.0.0.1:0"])
        let port = try #require(serve.child.metricsPort(), "\(serve.child.output)")
        let scrape = try #require(HTTPProbe.get(port: port, "/metrics")).body
        let sampled = Set(scrape.split(separator: "\n").filter { !$0.hasPrefix("#") }.map {
            String($0.prefix { $0 != "{" && $0 != " " })
        })
        for name in names.sorted() { #expect(sampled.contains(name), "\(name) is not in the scrape") }
    }
}
