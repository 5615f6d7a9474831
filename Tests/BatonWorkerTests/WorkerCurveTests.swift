import BatonWorker
import Broker
import Foundation
import Logging
import Synchronization
import Testing
import ZeroMQ

@Suite("The BatonWorker library over a CURVE backend", .serialized, .timeLimit(.minutes(1)))
struct WorkerCurveTests {
    @Test("CURVE credentials come from BATON_SERVER_KEY and the client key pair; malformed keys are refused")
    func curveEnvironment() throws {
        let server = try CurveKeyPair.generate()
        let worker = try CurveKeyPair.generate()
        let environment = try WorkerEnvironment.from([
            "BATON_BACKEND": "tcp://127.0.0.1:1", "BATON_SERVER_KEY": server.publicText,
            "BATON_CLIENT_PUBLIC_KEY": worker.publicText, "BATON_CLIENT_SECRET_KEY": worker.secretText,
        ])
        #expect(environment.curve?.serverKey == server.publicKey)
        #expect(environment.curve?.keys == worker)
        #expect(try WorkerEnvironment.from(["BATON_BACKEND": "tcp://127.0.0.1:1"]).curve == nil)
        let fresh = try WorkerEnvironment.from(["BATON_BACKEND": "x", "BATON_SERVER_KEY": server.publicText])
        #expect(fresh.curve?.keys.publicKey.count == 32)
        for bad in [["BATON_SERVER_KEY": "short"],
                    ["BATON_SERVER_KEY": server.publicText, "BATON_CLIENT_SECRET_KEY": "nope"],
                    ["BATON_SERVER_KEY": server.publicText, "BATON_CLIENT_SECRET_KEY": worker.secretText,
                     "BATON_CLIENT_PUBLIC_KEY": server.publicText]] {
            let environment = bad.merging(["BATON_BACKEND": "x"]) { $1 }
            #expect(throws: WorkerError.self) { _ = try WorkerEnvironment.from(environment) }
        }
    }

    @Test("a worker with an authorised key pair from its environment registers on a CURVE backend and serves")
    func curveWorkerServes() throws {
        let server = try CurveKeyPair.generate()
        let workerKeys = try CurveKeyPair.generate()
        var options = BrokerServer.Options(frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*")
        options.security.curveKeys = server
        options.security.authorizedWorkers = [workerKeys.publicKey]
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let broker = try BrokerServer(options: options, logger: logger)
        let endpoints = try broker.start()
        defer { broker.stop() }
        let environment = try WorkerEnvironment.from([
            "BATON_BACKEND": endpoints.backend, "BATON_SERVER_KEY": server.publicText,
            "BATON_CLIENT_PUBLIC_KEY": workerKeys.publicText, "BATON_CLIENT_SECRET_KEY": workerKeys.secretText,
        ])
        let context = try Context()
        defer { context.terminate() }
        let client = try Socket(context, .dealer)
        defer { client.close() }
        client.linger = 0
        try client.setReceiveTimeout(milliseconds: 5_000)
        let clientKeys = try CurveKeyPair.generate()
        try client.useCurveClient(try #require(CurveClientCredentials(serverKey: server.publicKey, keys: clientKeys)))
        try client.connect(endpoints.frontend)
        try client.send(frames: [[], Array("hi".utf8)])

        let finished = DispatchSemaphore(value: 0)
        let exit = Mutex<Result<WorkerExit, WorkerError>?>(nil)
        Thread.detachNewThread { [logger] in
            let runtime = WorkerRuntime(environment: environment, logger: logger)
            let ended = Result(catching: { try runtime.run { _ in .replyAndStop([Array("secret handshake".utf8)]) } })
            exit.withLock { $0 = ended.mapError { WorkerError("\($0)") } }
            finished.signal()
        }
        #expect(try client.receive()?.frames == [[], Array("secret handshake".utf8)])
        #expect(finished.wait(timeout: .now() + 5) == .success)
        let ended = exit.withLock { $0 }
        #expect(ended.flatMap { try? $0.get() } == .stopRequested, "run() ended with \(String(describing: ended))")
    }
}
