import BatonProtocol
import Foundation
import Testing
@testable import Broker

/// The stateful fuzz targets' scripts (Fuzz/corpus/walk and Fuzz/corpus/frames, docs/fuzzing.md) replayed as
/// tests, with fresh random scripts: whatever libFuzzer found and committed stays checked by `swift test`.
@Suite("Walks played from byte scripts", .serialized)
struct SessionWalkScriptTests {
    static func corpus(_ name: String) -> [(name: String, bytes: [UInt8])] {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Fuzz/corpus/\(name)").standardizedFileURL
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.sorted().compactMap { file in
            (try? Data(contentsOf: directory.appendingPathComponent(file))).map { (file, Array($0)) }
        }
    }

    static func randomScripts(seed: UInt64, count: Int, length: Int) -> [[UInt8]] {
        var rng = SplitMix(state: seed)
        return (0..<count).map { _ in (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) } }
    }

    func expectClean(_ walk: SessionWalk, _ label: String) {
        #expect(walk.violations.isEmpty, "\(label): \(walk.violations.joined(separator: "\n"))")
        #expect(walk.outstanding.isEmpty, "\(label): every request got exactly one reply")
    }

    @Test("every committed script keeps every promise", .timeLimit(.minutes(2)), arguments: ["walk", "frames"])
    func committedScripts(target: String) async {
        let scripts = Self.corpus(target)
        #expect(scripts.count >= 10, "the corpus is there")
        for (name, bytes) in scripts {
            let walk = target == "walk" ? SessionWalk.play(script: bytes) : SessionWalk.playFrames(script: bytes)
            expectClean(walk, "\(target)/\(name)")
            await Task.yield()
        }
    }

    @Test("random scripts keep every promise, requests answered once each", .timeLimit(.minutes(2)))
    func randomScripts() async {
        var requests = 0
        var frameEvents = 0
        for (index, bytes) in Self.randomScripts(seed: 0xBA70, count: 60, length: 4_000).enumerated() {
            let walk = SessionWalk.play(script: bytes)
            expectClean(walk, "random walk script \(index)")
            requests += walk.answeredTags.count
            let frames = SessionWalk.playFrames(script: bytes)
            expectClean(frames, "random frame script \(index)")
            requests += frames.answeredTags.count
            frameEvents += frames.events
            await Task.yield()
        }
        #expect(requests > 5_000, "the scripts sent requests and all were answered")
        #expect(frameEvents > 3_000, "the raw-frame scripts ran walks of many events")
    }

    /// Found by the `frames` target, now fixed. The supervisor's routing ids are never reused, and ZeroMQ can
    /// still hold messages a worker sent before it was killed when the supervisor reports its end: such a READY
    /// registered the dead worker again (as an external one), and requests were dispatched to it.
    @Test("a READY a managed worker sent before its process ended does not bring it back")
    func staleReadyAfterProcessEnd() {
        var core = BrokerCore()
        var out: [BrokerAction] = []
        let id = WorkerID("w1")
        core.workerProcessStarted(id, generation: 1)
        core.workerMessage([id.bytes, [], Array("READY".utf8)], now: Instant(nanoseconds: 1), into: &out)
        core.workerProcessEnded(id, reason: .processEnded(.crashed, ProcessExit(signal: 9)), now: Instant(nanoseconds: 2), into: &out)
        core.workerMessage([id.bytes, [], Array("READY".utf8)], now: Instant(nanoseconds: 3), into: &out)
        core.clientMessage([Array("c".utf8), [], Array("hello".utf8)], now: Instant(nanoseconds: 4), into: &out)
        #expect(core.knownWorkers[id] == nil, "a dead process's id is not a worker")
        let toGhost = out.contains { if case .dispatch(let worker, _, _, _) = $0 { worker == id } else { false } }
        #expect(!toGhost, "no request is sent to a dead process")
    }

    /// Found by the `frames` target, now fixed. During the shutdown drain nothing dispatches the queue any
    /// more, and `failInFlight` answers only requests in flight: a request its lost worker put back in the queue
    /// under `--retry-on-crash` (or one whose dispatch failed, `workerUnreachable`) was never answered.
    @Test("a request retried after its worker is lost during shutdown is still answered")
    func retryDuringShutdown() {
        var configuration = BrokerConfiguration()
        configuration.retryOnCrash = 1
        var core = BrokerCore(configuration: configuration)
        var out: [BrokerAction] = []
        let id = WorkerID("w1")
        core.workerProcessStarted(id)
        core.workerMessage([id.bytes, [], Array("READY".utf8)], now: Instant(nanoseconds: 1), into: &out)
        core.clientMessage([Array("c".utf8), [], Array("hello".utf8)], now: Instant(nanoseconds: 2), into: &out)
        #expect(core.inFlightCount == 1)
        core.beginShutdown(now: Instant(nanoseconds: 3), into: &out)
        core.workerProcessEnded(id, reason: .processEnded(.crashed, ProcessExit(signal: 9)), now: Instant(nanoseconds: 4), into: &out)
        core.failInFlight(reason: "drain timeout", now: Instant(nanoseconds: 5), into: &out)
        let replies = out.count { if case .reply = $0 { true } else { false } }
        #expect(replies == 1, "the request got its one reply")
    }
}
