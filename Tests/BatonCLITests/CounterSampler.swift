import Foundation
import Supervisor
import Testing

/// Reads `baton status --json` and `GET /metrics` of one running `serve` and adds every number it sees to a
/// ``CounterCoverage``; its waits poll those reports, so each step of a scenario is also a sample.
struct CounterSampler {
    let coverage: CounterCoverage
    let stateDir: String
    let directory: String
    /// The metrics port, when `serve` runs with `--metrics`.
    let port: UInt16?
    /// The `serve` process, whose output goes into the message of a wait that timed out.
    let serve: Child

    /// One `baton status --json`, recorded; nil if the supervisor did not answer.
    @discardableResult
    func status() -> StatusReport? {
        guard let (code, output) = try? runBaton(["status", "--state-dir", stateDir, "--json", "--timeout", "2"],
                                                 directory: directory, seconds: 10),
              code == 0 || code == 1,  // 1: answered, but a slot failed or no worker is ready
              let leaves = CounterLeaves.status(output)
        else { return nil }
        coverage.record(leaves)
        let report = try? JSONDecoder().decode(StatusReport.self, from: Data(output.utf8))
        if let report { coverage.recordAbsent(CounterLeaves.absentNumbers(in: report)) }
        return report
    }

    /// One scrape of `/metrics`, recorded; nil if nothing answered 200.
    @discardableResult
    func metrics() -> String? {
        guard let port, let answer = HTTPProbe.get(port: port, "/metrics"), answer.status == 200 else { return nil }
        coverage.record(CounterLeaves.metrics(answer.body))
        return answer.body
    }

    /// Both reports, now.
    func sample() {
        status()
        metrics()
    }

    /// Polls the status (recording each) until `condition` holds, up to `seconds`; returns the last report. A
    /// wait that must succeed (`required`) records an issue when it times out; one that only paces a scenario
    /// leaves the verdict to the coverage check.
    @discardableResult
    func waitForStatus(_ what: String, seconds: Double = 15, required: Bool = true,
                       _ condition: (StatusReport) -> Bool) -> StatusReport? {
        let deadline = Date().addingTimeInterval(seconds)
        var last: StatusReport?
        while Date() < deadline {
            last = status() ?? last
            if let last, condition(last) { return last }
            Thread.sleep(forTimeInterval: 0.02)
        }
        if required {
            Issue.record("timed out waiting until \(what); last status: \(String(describing: last))\n\(serve.output)")
        }
        return last
    }

    /// Polls `/metrics` (recording each scrape) until `condition` holds on a sample value, up to `seconds`.
    @discardableResult
    func waitForMetrics(_ what: String, seconds: Double = 15, required: Bool = true,
                        _ condition: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var last = ""
        while Date() < deadline {
            last = metrics() ?? last
            if condition(last) { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        if required { Issue.record("timed out waiting until \(what); last metrics:\n\(last)\n\(serve.output)") }
        return false
    }
}
