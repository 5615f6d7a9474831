import Foundation
import Testing

/// Debian's `prometheus` and `promtool`, for the tests that check Baton against the real thing.
enum PrometheusTools {
    /// The directory holding both programs; when they are missing, `scripts/ensure-deps --test` is run once
    /// to install them; nil if that did not help.
    static let directory: String? = {
        if let found = locate() { return found }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../scripts/ensure-deps").standardizedFileURL.path
        let install = Process()
        install.executableURL = URL(fileURLWithPath: script)
        install.arguments = ["--test"]
        install.standardInput = FileHandle.nullDevice
        if (try? install.run()) != nil { install.waitUntilExit() }
        return locate()
    }()

    private static func locate() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return (path.split(separator: ":").map(String.init) + ["/usr/bin"]).first { directory in
            ["prometheus", "promtool"].allSatisfy { FileManager.default.isExecutableFile(atPath: "\(directory)/\($0)") }
        }
    }

    /// Runs `promtool check metrics` on an exposition; returns its status and what it printed.
    static func checkMetrics(_ exposition: String, in directory: String) throws -> (Int32, String) {
        let input = directory + "/scrape.prom"
        try exposition.write(toFile: input, atomically: true, encoding: .utf8)
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "\(self.directory ?? "/usr/bin")/promtool")
        check.arguments = ["check", "metrics"]
        check.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: input))
        let output = Pipe()
        check.standardOutput = output
        check.standardError = output
        try check.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        return (check.terminationStatus, text)
    }
}

/// A Prometheus server on 127.0.0.1 with temporary storage, scraping one target every second.
final class PrometheusServer {
    let child: Child
    let port: UInt16

    init(scraping target: UInt16, in directory: String) throws {
        port = HTTPProbe.freePort()
        let configuration = directory + "/prometheus.yml"
        try """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: baton
                scrape_interval: 1s
                scrape_timeout: 1s
                static_configs:
                  - targets: ["127.0.0.1:\(target)"]
            """.write(toFile: configuration, atomically: true, encoding: .utf8)
        child = try Child("\(PrometheusTools.directory ?? "/usr/bin")/prometheus", [
            "--config.file=\(configuration)", "--storage.tsdb.path=\(directory)/tsdb",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ], name: "prometheus", directory: directory)
    }

    deinit {
        child.signal(SIGTERM)
        if child.wait(seconds: 10) == nil { child.signal(SIGKILL) }
    }

    /// Runs an instant query; returns Prometheus' status and the result vector's values (as numbers).
    func query(_ promQL: String) -> (status: String, values: [Double])? {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        guard let encoded = promQL.addingPercentEncoding(withAllowedCharacters: allowed),
              let answer = HTTPProbe.get(port: port, "/api/v1/query?query=\(encoded)"),
              let json = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any],
              let status = json["status"] as? String
        else { return nil }
        let result = (json["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
        return (status, result.compactMap { ($0["value"] as? [Any])?.last as? String }.compactMap(Double.init))
    }

    /// Polls a query until its single value satisfies `condition`, up to `seconds`; returns the last value.
    @discardableResult
    func waitFor(_ promQL: String, seconds: Double = 30, _ condition: (Double) -> Bool) -> Double? {
        let deadline = Date().addingTimeInterval(seconds)
        var last: Double?
        while Date() < deadline {
            last = query(promQL)?.values.first
            if let last, condition(last) { return last }
            Thread.sleep(forTimeInterval: 0.2)
        }
        Issue.record("timed out on \(promQL); last value \(String(describing: last))\n\(child.output)")
        return last
    }
}

/// The Grafana dashboard in deploy/grafana.
enum GrafanaDashboard {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../deploy/grafana/baton.json").standardizedFileURL.path

    /// Every PromQL expression in its panels and annotations, with Grafana's variables filled in.
    static func expressions() throws -> [String] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        var found: [String] = []
        func walk(_ value: Any) {
            if let object = value as? [String: Any] {
                if let expr = object["expr"] as? String { found.append(expr) }
                object.values.forEach(walk)
            } else if let array = value as? [Any] {
                array.forEach(walk)
            }
        }
        walk(json)
        return found.map {
            $0.replacingOccurrences(of: "$__rate_interval", with: "1m")
                .replacingOccurrences(of: "$__interval", with: "1m")
                .replacingOccurrences(of: "$instance", with: ".*")
        }
    }

    /// Every metric name the dashboard mentions (queries and variables).
    static func metricNames() throws -> Set<String> {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return Set(text.matches(of: /\b(?:baton|process)_[a-z_]+/).map { String($0.output) })
    }
}
