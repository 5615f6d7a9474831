import BatonProtocol
import BatonWorker
import Foundation
import Logging
import Synchronization
import Testing

@Suite("BatonWorker's log writes bytes as zero-padded hex", .serialized, .timeLimit(.minutes(1)))
struct WorkerLogTests {
    @Test("a session key that is not UTF-8, and a malformed message's first bytes, are logged two digits a byte")
    func hexInTheLog() throws {
        let peer = try RouterPeer()
        let log = LogCapture()
        var logger = Logger(label: "worker-log-test") { _ in log }
        logger.logLevel = .debug
        let runtime = WorkerRuntime(environment: WorkerEnvironment(backend: peer.endpoint), logger: logger)
        let worker = WorkerThread(heartbeats: true) { try runtime.run(sessions: nil) { .reply($0.body) } }
        #expect(try peer.next() == [[0x01]])
        try peer.send([[0x0a, 0x01, 0xff]])
        try peer.send([token(1), [], WireProtocol.sessionMarker, [0xff, 0x01], Array("hi".utf8)])
        #expect(try peer.next() == [token(1), [], Array("hi".utf8)])
        runtime.stop()
        #expect(try peer.next() == [WireProtocol.disconnectByte])
        #expect(worker.exit().flatMap { try? $0.get() } == .stopped)
        let lines = log.lines
        #expect(lines.contains("unexpected message from the broker (1 frames, first 0a01ff): ignored"), "\(lines)")
        #expect(lines.contains("request taken session=x'ff01'"), "\(lines)")
    }
}

/// A log handler that keeps each line as its message and its `session` metadata (`message session=…`), for
/// tests to read.
final class LogCapture: LogHandler, Sendable {
    private let kept = Mutex<[String]>([])

    /// The lines logged so far.
    var lines: [String] { kept.withLock { $0 } }

    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }

    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }

    subscript(metadataKey _: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    func log(event: LogEvent) {
        let session = event.metadata?["session"].map { " session=\($0)" } ?? ""
        kept.withLock { $0.append("\(event.message)\(session)") }
    }
}
