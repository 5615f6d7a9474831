import BatonProtocol
import Testing

@Suite("Names recorded for worker routing ids")
struct WorkerNameTests {
    @Test("printable ids are kept; ids libzmq generated, or other bytes, become ext-HEX")
    func names() {
        #expect(HistoryEvent.workerID(forRoutingID: Array("abc-1-2".utf8)) == "abc-1-2")
        #expect(HistoryEvent.workerID(forRoutingID: [0x00, 0xe4, 0x3c, 0x98, 0x69]) == "ext-00e43c9869")
        #expect(HistoryEvent.workerID(forRoutingID: [0x41, 0x0a]) == "ext-410a")
        #expect(HistoryEvent.workerID(forRoutingID: [0xff, 0xfe]) == "ext-fffe")
        #expect(HistoryEvent.workerID(forRoutingID: Array("ext-1".utf8)) == "ext-6578742d31",
                "no clash with a generated name")
    }
}
