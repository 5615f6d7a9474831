import BatonProtocol
import Testing

@Suite("Names recorded for worker routing ids")
struct WorkerNameTests {
    @Test("printable ids are kept; ids libzmq generated, or other bytes, become ext-HEX")
    func names() {
        #expect(WorkerID(routingID: Array("abc-1-2".utf8)).name == "abc-1-2")
        #expect(WorkerID(routingID: [0x00, 0xe4, 0x3c, 0x98, 0x69]).name == "ext-00e43c9869")
        #expect(WorkerID(routingID: [0x41, 0x0a]).name == "ext-410a")
        #expect(WorkerID(routingID: [0xff, 0xfe]).name == "ext-fffe")
        #expect(WorkerID(routingID: Array("ext-1".utf8)).name == "ext-6578742d31",
                "no clash with a generated name")
    }
}
