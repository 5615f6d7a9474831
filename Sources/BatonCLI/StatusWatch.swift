import BatonProtocol
import Broker
import Foundation
import Supervisor

/// `baton status --watch`: the status table redrawn every second with rates, like `top` or `pm2 monit`.
///
/// Plain text (it works over ssh and in any terminal); on a terminal the screen is redrawn in place and `q`
/// or Ctrl-C quits (the terminal's settings are restored); otherwise each refresh is printed after the last.
struct StatusWatch {
    let location: StateDirOption
    let timeout: Double
    /// Refreshes before stopping on its own (nil: until q or Ctrl-C).
    var count: Int?
    var interval: Double = 1

    func run() throws {
        let terminal = isatty(1) == 1
        let keyboard = isatty(0) == 1 ? RawKeyboard() : nil
        defer { keyboard?.restore() }
        var previous: (report: StatusReport, at: Date)?
        var refreshes = 0
        while count.map({ refreshes < $0 }) ?? true {
            refreshes += 1
            let now = Date()
            var screen = "baton status --watch: \(Self.clock(now)), every \(interval) s; q or Ctrl-C quits\n\n"
            do {
                let report = try StatusCommand.fetch(location: location, timeout: timeout)
                screen += Self.rates(report, since: previous, now: now) + StatusTable(report).render()
                previous = (report, now)
            } catch {
                screen += "\(error) (retrying)\n"
                previous = nil
            }
            try CommandOutput.standardOutput.write(terminal ? "\u{1B}[H\u{1B}[2J" + screen : screen + "\n")
            try CommandOutput.standardOutput.flush()
            if let count, refreshes >= count { break }
            if let keyboard {
                if keyboard.waitForQuit(seconds: interval, output: CommandOutput.standardOutput.fd) { break }
                try CommandOutput.standardOutput.idle(seconds: 0)  // why the wait ended early, if it did
            } else {
                try CommandOutput.standardOutput.idle(seconds: interval)
            }
        }
    }

    /// Requests/s, replies/s and errors/s since the previous refresh, and reload progress.
    static func rates(_ report: StatusReport, since previous: (report: StatusReport, at: Date)?, now: Date) -> String {
        var line = ""
        if let previous, previous.report.pid == report.pid {
            let seconds = max(now.timeIntervalSince(previous.at), 0.001)
            func rate(_ value: (StatusReport) -> UInt64) -> String {
                let delta = Double(value(report) &- value(previous.report))
                return String(format: "%.0f", delta / seconds)
            }
            line += "requests/s \(rate { $0.broker.requestsReceived }), replies/s \(rate { $0.broker.repliesForwarded }), "
                + "errors/s \(rate { $0.broker.errorReplies }), p99 \(p99(report, since: previous.report))\n"
        } else {
            line += "requests/s -, replies/s -, errors/s -, p99 - (measured from the next refresh)\n"
        }
        let starting = report.slots.compactMap { $0.reloadWait?.generation ?? $0.incomingGeneration }
        if let generation = starting.first {
            let done = report.slots.filter { $0.generation == generation }.count
            line += "reload to generation \(generation): \(done) of \(report.slots.count) slots done\n"
        }
        return line
    }

    /// The p99 latency of the requests answered between two reports, as "≤ N ms" (the histogram's bucket).
    static func p99(_ report: StatusReport, since previous: StatusReport) -> String {
        guard let latency = report.requestLatency,
              let bound = latency.quantile(0.99, since: previous.requestLatency)
        else { return "-" }
        if bound == .max { return "> \((latency.bounds.last ?? 0) / 1_000_000) ms" }
        return bound < 1_000_000 ? "≤ \(bound / 1000) µs" : "≤ \(bound / 1_000_000) ms"
    }

    static func clock(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm:ss"
        return formatter.string(from: date)
    }
}

/// The terminal in non-canonical mode without echo or signals, so single keys (q, Ctrl-C) can be read;
/// ``restore()`` puts the settings back.
final class RawKeyboard {
    private var saved = termios()
    private var active = false

    init() {
        guard tcgetattr(0, &saved) == 0 else { return }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG)
        guard tcsetattr(0, TCSANOW, &raw) == 0 else { return }
        active = true
    }

    /// Waits up to `seconds` for a key; true when it is q, Q or Ctrl-C. Returns false early when `output`
    /// reports an error or hang-up (its reader has gone).
    func waitForQuit(seconds: Double, output: Int32) -> Bool {
        guard active else { return false }
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return false }
            var items = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0), pollfd(fd: output, events: 0, revents: 0)]
            guard poll(&items, 2, Int32(left * 1000) + 1) > 0 else { continue }
            if items[1].revents != 0 { return false }
            guard items[0].revents != 0 else { continue }
            var byte: UInt8 = 0
            guard read(0, &byte, 1) == 1 else { return false }
            if byte == UInt8(ascii: "q") || byte == UInt8(ascii: "Q") || byte == 3 { return true }
        }
    }

    func restore() {
        if active { _ = tcsetattr(0, TCSANOW, &saved) }
        active = false
    }
}
