import BatonProtocol
import Testing

@Suite struct IdentityTests {
    @Test func workerNamesAreTextOrPrefixedHexAndReadBack() throws {
        #expect(WorkerID("w3-g2-1a2b").name == "w3-g2-1a2b")
        let libzmq = WorkerID(routingID: [0x00, 0xE4, 0x3C, 0x98, 0x69])
        #expect(libzmq.name == "ext-00e43c9869")
        // A printable id that would read as a rendered one is rendered too, so names stay unambiguous.
        let spoof = WorkerID("ext-00")
        #expect(spoof.name == "ext-" + Hex.lowercase(Array("ext-00".utf8)))
        #expect(WorkerID(routingID: []).name == "ext-")
        #expect(WorkerID(routingID: [0x41, 0x0A]).name == "ext-410a")
        for worker in [WorkerID("w1"), libzmq, spoof, WorkerID(routingID: [0x7F])] {
            #expect(WorkerID(name: worker.name) == worker)
        }
        #expect(WorkerID(name: "ext-0g") == nil)
    }

    @Test func hexIsZeroPaddedAndReadsEitherCase() {
        #expect(Hex.lowercase([0x00, 0x0A, 0xFF]) == "000aff")
        #expect(Hex.bytes("000AfF") == [0x00, 0x0A, 0xFF])
        #expect(Hex.bytes("abc") == nil)
        #expect(Hex.bytes("zz") == nil)
        #expect(ClientID(routingID: [0, 1, 0x80]).description == "000180")
    }

    @Test func sessionKeysShowAsTextOrBlobLiteral() {
        #expect(SessionKey(bytes: Array("room-7".utf8)).display == "room-7")
        #expect(SessionKey(bytes: [0x00, 0x41]).display == "x'0041'")
        #expect(SessionKey.keys(displayedAs: "x'0041'") == [SessionKey(bytes: Array("x'0041'".utf8)),
                                                            SessionKey(bytes: [0x00, 0x41])])
        #expect(SessionKey.keys(displayedAs: "x'41'") == [SessionKey(bytes: Array("x'41'".utf8))])
    }

    @Test func requestIDsRoundTripThroughTheirToken() {
        let id = RequestID(0x0102_0304_0506_0708)
        #expect(id.token == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(RequestID(token: id.token) == id)
        #expect(RequestID(token: [1, 2, 3]) == nil)
        #expect(id.next > id)
    }

    @Test func spansAndInstantsSaturateInsteadOfTrapping() {
        #expect(TimeSpan.seconds(2) == .milliseconds(2_000))
        #expect(TimeSpan.seconds(.max).nanoseconds == .max)
        #expect(TimeSpan.seconds(1) - .seconds(2) == .zero)
        #expect(TimeSpan(seconds: 1.5)?.description == "1.5s")
        #expect(TimeSpan(seconds: -1) == nil)
        #expect(TimeSpan(seconds: .nan) == nil)
        #expect(TimeSpan(seconds: 2e9) == nil)
        #expect(TimeSpan.milliseconds(250).description == "0.25s")
        let start = Instant(nanoseconds: 5)
        #expect((start + .seconds(1)).since(start) == .seconds(1))
        #expect(start.since(start + .seconds(1)) == .zero)
        #expect((Instant(nanoseconds: .max) + .seconds(1)).nanoseconds == .max)
        #expect(start - .seconds(1) == .zero)
        #expect(Instant.now() > .zero)
    }
}
