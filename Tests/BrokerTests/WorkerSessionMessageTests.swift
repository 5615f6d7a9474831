import BatonProtocol
import Testing

@testable import Broker

@Suite("A worker's session answers read into typed messages before the broker's policy")
struct WorkerSessionMessageTests {
    private let key: [UInt8] = Array("room".utf8)

    private func read(_ payload: [[UInt8]]) -> WorkerSessionMessage? {
        WorkerSessionMessage(payload[...])
    }

    @Test("END, EXPORT and IMPORT answers are read with their key, status and data")
    func answersAreRead() {
        let room = SessionKey(bytes: key)
        #expect(read([WireProtocol.endByte, key]) == .end(key: room))
        #expect(read([WireProtocol.exportByte, key, WireProtocol.statusOK, [7]])
                == .exported(key: room, ok: true, data: [7]))
        #expect(read([WireProtocol.exportByte, key, WireProtocol.statusError, bytes("no")])
                == .exported(key: room, ok: false, data: bytes("no")))
        #expect(read([WireProtocol.importByte, key, WireProtocol.statusOK]) == .imported(key: room, ok: true, text: []))
        #expect(read([WireProtocol.importByte, key, WireProtocol.statusOK, bytes("why")])
                == .imported(key: room, ok: false, text: bytes("why")), "a text after the status is a failure")
    }

    @Test("a session command with the wrong number of frames, or another command byte, is not a session answer")
    func wrongShapesAreRejected() {
        #expect(read([WireProtocol.endByte]) == nil)
        #expect(read([WireProtocol.endByte, key, [1]]) == nil)
        #expect(read([WireProtocol.exportByte, key, WireProtocol.statusOK]) == nil)
        #expect(read([WireProtocol.importByte, key]) == nil)
        #expect(read([WireProtocol.importByte, key, [1], [2], [3]]) == nil)
        #expect(read([WireProtocol.heartbeatByte, key]) == nil)
    }
}
