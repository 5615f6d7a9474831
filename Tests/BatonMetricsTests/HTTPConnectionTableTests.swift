import Testing

@testable import BatonMetrics

@Suite("The metrics server's connection table: bound, eviction and deadlines, on a fake clock")
struct HTTPConnectionTableTests {
    let second: UInt64 = 1_000_000_000

    @Test("a full table evicts the connection that has waited longest for its head, not one being answered")
    func evictsTheOldestReadingItsHead() {
        var table = HTTPConnectionTable(capacity: 3)
        table.admit(10, now: 1 * second)
        table.admit(11, now: 2 * second)
        table.admit(12, now: 3 * second)
        #expect(table.isFull)
        table[10]?.answer(with: .text("ok\n", status: 200), now: 3 * second)
        #expect(table.evictionVictim() == 11)
        table.remove(11)
        #expect(!table.isFull)
        table.admit(13, now: 4 * second)
        #expect(table.evictionVictim() == 12)
    }

    @Test("when every connection is being answered, the oldest is evicted; an empty table has no victim")
    func evictsTheOldestWhenAllAreAnswered() {
        var table = HTTPConnectionTable(capacity: 2)
        #expect(table.evictionVictim() == nil)
        table.admit(7, now: 5 * second)
        table.admit(6, now: 5 * second)
        table.admit(8, now: 4 * second)
        for fd: Int32 in [6, 7, 8] { table[fd]?.answer(with: .text("ok\n", status: 200), now: 6 * second) }
        #expect(table.evictionVictim() == 8)
        table.remove(8)
        #expect(table.evictionVictim() == 6, "a tie goes to the lower descriptor")
    }

    @Test("a head must arrive within 2 s of the accept; an answer must be taken within 5 s of the head")
    func deadlines() {
        var table = HTTPConnectionTable()
        table.admit(3, now: 10 * second)
        table.admit(4, now: 10 * second)
        table[4]?.answer(with: .text("ok\n", status: 200), now: 11 * second)
        #expect(table.removeExpired(now: 12 * second - 1).isEmpty)
        #expect(table.removeExpired(now: 12 * second) == [3])
        #expect(table.removeExpired(now: 16 * second - 1).isEmpty)
        #expect(table.removeExpired(now: 16 * second) == [4])
        #expect(table.connections.isEmpty)
    }

    @Test("with room, the next accept turn is due at once; when full, 50 ms after the last one")
    func acceptPacing() {
        var table = HTTPConnectionTable(capacity: 1)
        #expect(table.earliestAccept(lastTurn: 7 * second) == 0)
        table.admit(5, now: 7 * second)
        #expect(table.earliestAccept(lastTurn: 7 * second) == 7 * second + 50_000_000)
        table.remove(5)
        #expect(table.earliestAccept(lastTurn: 7 * second) == 0)
    }
}
