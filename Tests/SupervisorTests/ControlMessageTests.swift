import BatonProtocol
import Broker
import Testing

@testable import Supervisor

@Suite("The control protocol's messages")
struct ControlMessageTests {
    func json(_ value: some Encodable) -> String { String(decoding: ControlCodec.encode(value), as: UTF8.self) }

    func read<Value: Decodable>(_ type: Value.Type, _ text: String) -> Result<Value, ControlMessageError> {
        ControlCodec.read(type, from: Array(text.utf8))
    }

    @Test("every request and reply survives encoding as one JSON frame")
    func roundTrip() {
        let requests: [ControlRequest] = [
            .status, .stop,
            .reload(ReloadRequest(command: ["/opt/game/v2", "--port", "0"], surge: false, readyTimeoutSeconds: 5,
                                  drainTimeoutSeconds: 1.5)),
            .reload(ReloadRequest(command: nil, surge: true, readyTimeoutSeconds: 30, drainTimeoutSeconds: 60)),
        ]
        for request in requests {
            #expect(ControlCodec.decode(ControlRequest.self, from: ControlCodec.encode(request)) == request)
        }
        let report = StatusReport(pid: 7, command: "/bin/worker", slots: [], broker: BrokerStats())
        let failure = ReloadFailure(slot: 2, cause: .exited(exit: ProcessExit(code: 1), afterReady: false))
        let steps: [ReloadProgress] = [
            .began(slots: 4, generation: 2, surge: false), .starting(slot: 1, generation: 2), .drainingFirst(slot: 1),
            .newWorkerReady(slot: 1, drainingOld: true), .oldWorkerDone(slot: 1, end: .drained),
            .oldWorkerStopped(slot: 1, end: .exited(exit: ProcessExit(signal: 9)), starting: 2),
            .rollingBack(failure: failure), .restoreFailed(slot: 1, cause: .spawnFailed(reason: "ENOENT")),
            .restoreTimedOut(slot: 1, keeps: 2), .restoreDrainTimedOut(slot: 1, stopping: 2),
            .sessionsMoved(slot: nil, workerID: "r-1-1", moved: 3, failed: 1, lost: 0, toRestored: true),
            .waiting(ReloadWait(step: .rollback, slot: nil, generation: 2, secondsLeft: nil)),
        ]
        let replies: [ControlReply] = [
            .status(report), .stopping(pid: 42), .progress(.starting(slot: 1, generation: 2)),
            .finished(.succeeded(generation: 2, previous: 1, slots: 4)),
            .finished(.rolledBack(generation: 2, previous: 1, failure: failure)),
            .finished(.interrupted(generation: 2, previous: 1)),
            .refused("a reload is already running"), .denied("permission denied"),
        ] + steps.map { .progress($0, wait: ReloadWait(step: .ready, slot: 1, generation: 2, secondsLeft: 3)) }
        for reply in replies {
            #expect(ControlCodec.decode(ControlReply.self, from: ControlCodec.encode(reply)) == reply)
        }
    }

    @Test("each request has the documented wire form: the version, the command, and its fields beside them")
    func requestWireForm() {
        #expect(json(ControlRequest.status) == #"{"command":"status","version":1}"#)
        #expect(json(ControlRequest.stop) == #"{"command":"stop","version":1}"#)
        #expect(json(ControlRequest.reload(ReloadRequest(command: ["/opt/game/v42/server", "--flag"], surge: true,
                                                         readyTimeoutSeconds: 30, drainTimeoutSeconds: 60)))
                == #"{"command":"reload","drain_timeout_seconds":60,"ready_timeout_seconds":30,"surge":true,"#
                + #""version":1,"worker_command":["\/opt\/game\/v42\/server","--flag"]}"#)
        #expect(json(ControlRequest.reload(ReloadRequest(command: nil, surge: false, readyTimeoutSeconds: 1.5,
                                                         drainTimeoutSeconds: 0)))
                == #"{"command":"reload","drain_timeout_seconds":0,"ready_timeout_seconds":1.5,"surge":false,"version":1}"#)
    }

    @Test("each reply has the documented wire form: the version, the reply's name, and its fields beside them")
    func replyWireForm() {
        #expect(json(ControlReply.stopping(pid: 42)) == #"{"pid":42,"reply":"stopping","version":1}"#)
        #expect(json(ControlReply.refused("no")) == #"{"reason":"no","reply":"refused","version":1}"#)
        #expect(json(ControlReply.denied("no")) == #"{"reason":"no","reply":"denied","version":1}"#)
        #expect(json(ControlReply.progress(.newWorkerReady(slot: 1, drainingOld: true)))
                == #"{"progress":{"newWorkerReady":{"drainingOld":true,"slot":1}},"reply":"progress","version":1}"#)
        var wait = ReloadWait(step: .drain, slot: 1, generation: 2, secondsLeft: 12.5)
        wait.sessions = 3
        #expect(json(ControlReply.progress(.waiting(wait), wait: wait))
                == #"{"progress":{"waiting":{"_0":{"generation":2,"secondsLeft":12.5,"sessions":3,"slot":1,"step":"drain"}}},"#
                + #""reply":"progress","version":1,"#
                + #""wait":{"generation":2,"secondsLeft":12.5,"sessions":3,"slot":1,"step":"drain"}}"#)
        #expect(json(ControlReply.progress(.rollingBack(failure: ReloadFailure(
                    slot: 2, cause: .exited(exit: ProcessExit(code: 1), afterReady: false)))))
                == #"{"progress":{"rollingBack":{"failure":{"cause":{"exited":{"afterReady":false,"exit":{"code":1}}},"#
                + #""slot":2}}},"reply":"progress","version":1}"#)
        #expect(json(ControlReply.finished(.succeeded(generation: 3, previous: 2, slots: 4)))
                == #"{"outcome":{"succeeded":{"generation":3,"previous":2,"slots":4}},"reply":"finished","version":1}"#)
        let status = json(ControlReply.status(StatusReport(pid: 7, command: "w", slots: [], broker: BrokerStats())))
        #expect(status.hasPrefix(#"{"reply":"status","status":{"#) && status.hasSuffix(#"},"version":1}"#))
    }

    @Test("a request of another protocol version, or without one, is refused saying which version this side speaks")
    func otherVersionRefused() {
        let expected = "unsupported control protocol version 2: this side speaks version 1; use `baton` of the same "
            + "release as the supervisor"
        #expect(read(ControlRequest.self, #"{"version":2,"command":"status"}"#) == .failure(.unsupportedVersion(2)))
        #expect(ControlMessageError.unsupportedVersion(2).description == expected)
        #expect(read(ControlRequest.self, #"{"status":{}}"#) == .failure(.unsupportedVersion(nil)),
                "the shape of releases before the protocol had versions")
        #expect(read(ControlReply.self, #"{"version":0,"reply":"stopping","pid":1}"#) == .failure(.unsupportedVersion(0)))
    }

    @Test("an unknown command is refused naming it and the commands there are")
    func unknownCommandRefused() {
        let result = read(ControlRequest.self, #"{"version":1,"command":"launch"}"#)
        #expect(result == .failure(.unknownCommand("launch")))
        #expect(ControlMessageError.unknownCommand("launch").description
                == #"unknown control command "launch" (known: status, stop, reload)"#)
        #expect(read(ControlReply.self, #"{"version":1,"reply":"cheer"}"#) == .failure(.unknownReply("cheer")))
    }

    @Test("frames that are not a control message are malformed")
    func malformed() {
        for frame in ["", "status", "[1,2]"] {
            #expect(read(ControlRequest.self, frame) == .failure(.malformed), "\(frame)")
        }
        #expect(read(ControlRequest.self, "{}") == .failure(.unsupportedVersion(nil)))
    }

    @Test("an object with a field missing, null or of the wrong type is refused naming the field, quoting little")
    func invalidFieldNamed() {
        let fields: [(frame: String, field: String)] = [
            (#"{"version":1}"#, "command"),
            (#"{"version":"1","command":"status"}"#, "version"),
            (#"{"version":1.5,"command":"status"}"#, "version"),
            (#"{"version":null,"command":"status"}"#, "version"),
            (#"{"version":1,"command":7}"#, "command"),
            (#"{"version":1,"command":"reload"}"#, "surge"),
            (#"{"version":1,"command":"reload","surge":"yes","ready_timeout_seconds":1,"drain_timeout_seconds":1}"#,
             "surge"),
            (#"{"version":1,"command":"reload","surge":true,"ready_timeout_seconds":null,"drain_timeout_seconds":1}"#,
             "ready_timeout_seconds"),
            (#"{"version":1,"command":"reload","worker_command":["a",2],"surge":true,"ready_timeout_seconds":1,"#
                + #""drain_timeout_seconds":1}"#, "worker_command.1"),
        ]
        for (frame, field) in fields {
            guard case .failure(let error) = read(ControlRequest.self, frame),
                  case .invalidField(let named, _) = error
            else {
                Issue.record("\(frame) → \(read(ControlRequest.self, frame))")
                continue
            }
            #expect(named == field && error.description.hasPrefix("malformed control request: field \"\(field)\": "),
                    "\(error)")
        }
        let long = String(repeating: "x", count: 100_000)
        guard case .failure(let unknown) = read(ControlRequest.self, #"{"version":1,"command":"\#(long)"}"#) else {
            Issue.record("a long unknown command was read")
            return
        }
        #expect(unknown.description.count < 200, "a long unknown command is not repeated whole")
    }
}
