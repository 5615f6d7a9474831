import Broker
import Testing

@testable import Supervisor

@Suite("The control protocol's messages")
struct ControlMessageTests {
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
        let replies: [ControlReply] = [
            .status(report), .stopping(pid: 42), .progress("slot 1: new worker ready"), .reloaded("active"),
            .refused("a reload is already running"),
        ]
        for reply in replies {
            #expect(ControlCodec.decode(ControlReply.self, from: ControlCodec.encode(reply)) == reply)
        }
    }

    @Test("the documented wire form is what goes on the wire")
    func wireForm() {
        #expect(String(decoding: ControlCodec.encode(ControlRequest.status), as: UTF8.self) == #"{"status":{}}"#)
        #expect(String(decoding: ControlCodec.encode(ControlReply.stopping(pid: 42)), as: UTF8.self)
                == #"{"stopping":{"pid":42}}"#)
    }

    @Test("frames that are not a control message decode to nothing")
    func malformed() {
        for frame in ["", "status", "{}", #"{"launch":{}}"#, "[1,2]"] {
            #expect(ControlCodec.decode(ControlRequest.self, from: Array(frame.utf8)) == nil)
        }
    }
}
