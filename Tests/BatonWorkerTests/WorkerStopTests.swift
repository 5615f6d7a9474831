import BatonProtocol
import BatonWorker
import Foundation
import Glibc
import Testing

@Suite("BatonWorker stops on stop() and, only when asked, on SIGTERM and SIGINT", .serialized,
       .timeLimit(.minutes(1)))
struct WorkerStopTests {
    @Test("by default run installs no signal handler: SIGTERM and SIGINT are as they were while it serves")
    func noSignalHandlersByDefault() throws {
        let before = Disposition.current()
        let peer = try RouterPeer()
        let runtime = WorkerRuntime(environment: WorkerEnvironment(backend: peer.endpoint), logger: .quiet)
        let worker = WorkerThread(heartbeats: true) { try runtime.run { .reply($0) } }
        #expect(try peer.next() == [[0x01]])
        #expect(Disposition.current() == before)
        runtime.stop()
        #expect(try peer.next() == [WireProtocol.disconnectByte])
        #expect(worker.exit().flatMap { try? $0.get() } == .stopped)
    }

    @Test("with stopSignals, SIGTERM lets the held request finish, then DISCONNECT; the replaced handlers are back")
    func sigtermWhenAsked() throws {
        let before = Disposition.current()
        let peer = try RouterPeer()
        let gate = Gate()
        var options = WorkerOptions()
        options.stopSignals = [.terminate, .interrupt]
        let runtime = WorkerRuntime(environment: WorkerEnvironment(backend: peer.endpoint), options: options,
                                    logger: .quiet)
        let worker = WorkerThread(heartbeats: true) {
            try runtime.run { body in .reply(gate.pass("held") ? body : frames("the gate never opened")) }
        }
        #expect(try peer.next() == [[0x01]])
        #expect(Disposition.current() != before, "run installed its handlers")
        try peer.send([token(1), []] + frames("held"))
        #expect(gate.awaitArrivals(1))
        kill(getpid(), SIGTERM)  // caught by the worker's handler, which is installed now
        gate.open("held")
        #expect(try peer.next() == [token(1), []] + frames("held"))
        #expect(try peer.next() == [WireProtocol.disconnectByte])
        #expect(worker.exit().flatMap { try? $0.get() } == .terminated(signal: SIGTERM))
        #expect(Disposition.current() == before, "run put back the handlers it replaced")
    }

    @Test("stop() before run makes the worker stop as soon as it has started: READY, then DISCONNECT")
    func stopBeforeRun() throws {
        let peer = try RouterPeer()
        let runtime = WorkerRuntime(environment: WorkerEnvironment(backend: peer.endpoint), logger: .quiet)
        runtime.stop()
        let worker = WorkerThread(heartbeats: true) { try runtime.run { .reply($0) } }
        #expect(try peer.next() == [[0x01]])
        #expect(try peer.next() == [WireProtocol.disconnectByte])
        #expect(worker.exit().flatMap { try? $0.get() } == .stopped)
    }
}

/// How the process handles SIGTERM and SIGINT now: the raw bytes of their handlers.
private struct Disposition: Equatable {
    let sigterm: [UInt8]
    let sigint: [UInt8]

    static func current() -> Disposition {
        Disposition(sigterm: handler(of: SIGTERM), sigint: handler(of: SIGINT))
    }

    private static func handler(of signal: Int32) -> [UInt8] {
        var action = sigaction()
        _ = sigaction(signal, nil, &action)
        return withUnsafeBytes(of: action.__sigaction_handler) { Array($0) }
    }
}
