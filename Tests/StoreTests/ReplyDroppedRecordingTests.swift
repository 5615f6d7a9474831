import BatonProtocol
import Testing

@testable import Store

extension RecorderTests {
    @Test("an answer that never reached its client is recorded failed with reply-dropped, in its batch or a later one")
    func replyDropped() throws {
        let database = try open()
        var writer = HistoryWriter()
        try write([
            .workerReady(workerID: WorkerID("ext"), at: .zero),
            .requestReceived(id: RequestID(1), client: ClientID(routingID: [1]), bytes: 3, at: Instant(nanoseconds: 5 * ms)),
            .requestDispatched(id: RequestID(1), worker: WorkerID("ext"), attempt: 1, at: Instant(nanoseconds: 6 * ms)),
            .requestReplied(id: RequestID(1), bytes: 9, at: Instant(nanoseconds: 8 * ms)),
            .requestReplyDropped(id: RequestID(1), at: Instant(nanoseconds: 9 * ms)),
            .requestReceived(id: RequestID(2), client: ClientID(routingID: [1]), bytes: 3, at: Instant(nanoseconds: 10 * ms)),
            .requestFailed(id: RequestID(2), code: .shuttingDown, at: Instant(nanoseconds: 11 * ms)),
        ], &writer, database)
        try write([.requestReplyDropped(id: RequestID(2), at: Instant(nanoseconds: 5_000 * ms))], &writer, database)
        let rows = try HistoryQueries.history(HistoryFilter(), in: database).sorted { $0.id < $1.id }
        #expect(rows.map(\.status) == ["failed", "failed"])
        #expect(rows.map(\.error) == ["reply-dropped", "reply-dropped"])
        #expect(rows[0].replyBytes == 9 && rows[0].totalMicroseconds == 3000, "the answer's size and time stay")
        #expect(rows[1].totalMicroseconds == 1000)
    }
}
