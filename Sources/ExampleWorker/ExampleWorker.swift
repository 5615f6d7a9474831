import ArgumentParser
import BatonWorker
import CBatonSys
import Foundation
import Logging
import Synchronization

/// `baton-example-worker`: the bundled demo game worker, and the test fixture for crashes and hangs.
///
/// By default it echoes every request's frames unchanged. Flags make it slow, crash, hang or misbehave, serve
/// several requests at once (`--capacity`), or count each session's requests (`--session-counter`).
@main
struct ExampleWorker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baton-example-worker",
        abstract: "Baton's example worker: echoes each request, with flags for simulated work and failures."
    )

    @Option(help: "Backend endpoint (default: $BATON_BACKEND).")
    var backend: String?

    @Option(help: "Milliseconds of simulated work per request (it overlaps across concurrent requests).")
    var workMs = 0

    @Option(help: "Serve up to K requests at once (declared in READY; needs heartbeats).")
    var capacity = 1

    @Flag(help: "Answer each session request with the number of requests its session has seen; hand sessions off.")
    var sessionCounter = false

    @Flag(help: "With --session-counter: do not declare the handoff capability (sessions drain instead of moving).")
    var noHandoff = false

    @Option(help: "With --session-counter: answer every EXPORT or every IMPORT with an error.")
    var failHandoff: SessionCounter.Step?

    @Option(help: "With --session-counter: take this many milliseconds to export or import a session.")
    var handoffDelayMs = 0

    @Option(help: "Text put in front of the first frame of each reply.")
    var prefix = ""

    @Option(help: "Crash (abort, SIGABRT) while serving request number N.")
    var crashAfter: Int?

    @Option(help: "Hang forever while serving request number N (heartbeats go on).")
    var hangOn: Int?

    @Option(help: "Stop the whole process (SIGSTOP) on request number N: no heartbeats, no reply.")
    var freezeOn: Int?

    @Option(help: "Fail request number N on purpose: its handler throws, so it is answered handler-error.")
    var failOn: Int?

    @Flag(help: "Ignore SIGTERM (only SIGKILL stops it).")
    var ignoreSigterm = false

    @Flag(help: "Exit with status 1 before sending READY.")
    var failBeforeReady = false

    @Option(help: "Sleep this many milliseconds before sending READY.")
    var startDelayMs = 0

    @Flag(help: "Speak the REQ-style protocol without heartbeats.")
    var noHeartbeats = false

    @Option(help: "Log level: trace, debug (a line per request taken), info, notice, warning, error or critical.")
    var logLevel = "notice"

    func validate() throws {
        guard workMs >= 0, startDelayMs >= 0, handoffDelayMs >= 0 else {
            throw ValidationError("durations must not be negative")
        }
        guard (1...1_000).contains(capacity) else { throw ValidationError("--capacity must be between 1 and 1000") }
        guard capacity == 1 || !noHeartbeats else {
            throw ValidationError("--capacity above 1 needs heartbeats: drop --no-heartbeats")
        }
        guard sessionCounter || (!noHandoff && failHandoff == nil && handoffDelayMs == 0) else {
            throw ValidationError("--no-handoff, --fail-handoff and --handoff-delay-ms need --session-counter")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func run() throws {
        baton_line_buffer_stdout()
        var logger = Logger(label: "example-worker")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .notice
        let environment: WorkerEnvironment
        do {
            environment = try WorkerEnvironment.from(backend: backend)
        } catch {
            throw ValidationError("\(error)")
        }
        if failBeforeReady {
            printToStderr("failing before READY, as asked")
            throw ExitCode(1)
        }
        if startDelayMs > 0 { Thread.sleep(forTimeInterval: Double(startDelayMs) / 1000) }
        var options = WorkerOptions(environment: environment)
        options.heartbeats = !noHeartbeats
        options.capacity = capacity
        if ignoreSigterm {
            _ = signal(SIGTERM, SIG_IGN)
            options.stopSignals = [.interrupt]
        }
        let runtime = WorkerRuntime(environment: environment, options: options, logger: logger)
        let served = Atomic<Int>(0)
        let (work, prefix, crashAfter, hangOn, freezeOn, failOn) =
            (workMs, Array(prefix.utf8), crashAfter, hangOn, freezeOn, failOn)
        let counter = sessionCounter ? SessionCounter(failing: failHandoff, delayMilliseconds: handoffDelayMs) : nil
        let exit = try runtime.run(sessions: counter?.hooks(handoff: !noHandoff)) { request in
            let number = served.add(1, ordering: .relaxed).newValue
            if number == crashAfter { abort() }
            if number == freezeOn { _ = baton_kill(getpid(), SIGSTOP) }
            if number == hangOn { while true { Thread.sleep(forTimeInterval: 3600) } }
            if number == failOn { throw FailedOnPurpose(number: number) }
            if work > 0 { Thread.sleep(forTimeInterval: Double(work) / 1000) }
            if let counter, let session = request.session { return counter.reply(session: session, body: request.body) }
            let body = request.frames
            guard !prefix.isEmpty, let first = body.first else { return .reply(body) }
            return .reply([prefix + first] + body.dropFirst())
        }
        printToStderr("example worker exiting (\(exit)) after \(served.load(ordering: .relaxed)) requests")
    }
}

extension SessionCounter.Step: ExpressibleByArgument {}

/// The error `--fail-on N` throws in request N's handler.
struct FailedOnPurpose: Error, CustomStringConvertible {
    /// The request's number.
    let number: Int

    var description: String { "request \(number) failed on purpose (--fail-on)" }
}

func printToStderr(_ line: String) {
    baton_write_stderr(line + "\n")
}
