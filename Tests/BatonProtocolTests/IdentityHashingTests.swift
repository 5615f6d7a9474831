import Testing

@testable import BatonProtocol

@Suite("The identities hash and compare as the values they wrap")
struct IdentityHashingTests {
    @Test("each identity's hash, in and out of a dictionary, is its wrapped value's")
    func hashesMatchTheWrappedValues() {
        for value: UInt64 in [0, 1, 7, 1 << 40, .max] {
            #expect(RequestID(value).hashValue == value.hashValue)
            #expect(RequestID(value)._rawHashValue(seed: 42) == value._rawHashValue(seed: 42))
        }
        for bytes: [UInt8] in [[], [0], Array("w1".utf8), [UInt8](repeating: 0xFF, count: 300)] {
            #expect(WorkerID(routingID: bytes).hashValue == bytes.hashValue)
            #expect(SessionKey(bytes: bytes).hashValue == bytes.hashValue)
            #expect(ClientID(routingID: bytes).hashValue == bytes.hashValue)
            #expect(WorkerID(routingID: bytes)._rawHashValue(seed: 9) == bytes._rawHashValue(seed: 9))
        }
        let requests = Dictionary(uniqueKeysWithValues: (0..<1_000).map { (RequestID(UInt64($0)), $0) })
        #expect((0..<1_000).allSatisfy { requests[RequestID(UInt64($0))] == $0 })
        #expect(requests[RequestID(1_000)] == nil)
        let workers = Set((0..<100).map { WorkerID("w\($0)") })
        #expect(workers.count == 100 && workers.contains(WorkerID("w42")) && !workers.contains(WorkerID("w100")))
        #expect(WorkerID("a") != WorkerID("b") && SessionKey(bytes: [1]) == SessionKey(bytes: [1]))
    }
}
