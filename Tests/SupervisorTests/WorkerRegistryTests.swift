import Foundation
import Logging
import Testing

@testable import Supervisor

@Suite("Leftover workers of a dead supervisor", .serialized, .timeLimit(.minutes(1)))
struct WorkerRegistryTests {
    @Test("recorded workers that are still the same process are ended; a reused pid is left alone")
    func endsOnlyTheSameProcess() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let leftover = try startSleeper()
        let stranger = try startSleeper()
        defer { kill(stranger.processIdentifier, SIGKILL) }
        let registry = WorkerRegistry(directory: directory)
        registry.record([(leftover.processIdentifier, "old-1-1")])
        // The stranger's pid with another start time: what a reused pid looks like.
        let start = try #require(WorkerRegistry.startTime(of: stranger.processIdentifier))
        let text = try String(contentsOfFile: registry.path, encoding: .utf8)
            + "\(stranger.processIdentifier) \(start + 1) old-2-2\n"
        try text.write(toFile: registry.path, atomically: true, encoding: .utf8)

        #expect(try registry.endLeftovers(logger: Logger(label: "test")) == 1)
        let deadline = Date().addingTimeInterval(5)
        while leftover.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(!leftover.isRunning)
        #expect(leftover.terminationReason == .uncaughtSignal)
        #expect(stranger.isRunning)
        #expect(try String(contentsOfFile: registry.path, encoding: .utf8).isEmpty)
    }
}
