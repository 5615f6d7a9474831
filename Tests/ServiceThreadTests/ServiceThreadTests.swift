import Foundation
import ServiceThread
import Synchronization
import Testing

/// What the test loops take.
enum TestCommand: Sendable {
    case number(Int)
    case echo(Int, @Sendable (Int) -> Void)
    case stop
}

/// A name the kernel shows whole (at most 15 bytes) and no other test uses.
func uniqueThreadName() -> String { "st-" + String(UInt32.random(in: .min ... .max), radix: 16) }

/// The names of this process's threads, as `ps -T` shows them.
func threadNames() -> [String] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.compactMap { try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8) }
        .map { $0.trimmingCharacters(in: .newlines) }
}

/// Polls `condition` every 5 ms until it holds or `seconds` pass, without holding a cooperative-pool thread.
func eventually(within seconds: Double = 20, _ condition: () -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() > deadline { return false }
        try await Task.sleep(for: .milliseconds(5))
    }
    return true
}

/// A loop that polls the wake descriptor (as the owners poll it beside their sockets), records numbers, answers
/// echoes, and returns on `stop` after answering what is left.
func runLoop(_ thread: ServiceThread<TestCommand>, into seen: borrowing Mutex<[Int]>) {
    var running = true
    while running {
        var item = pollfd(fd: thread.wakeDescriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&item, 1, -1)
        for command in thread.takeCommands() {
            switch command {
            case .number(let value): seen.withLock { $0.append(value) }
            case .echo(let value, let reply): reply(value)
            case .stop: running = false
            }
        }
    }
    for case .echo(let value, let reply) in thread.closeQueue() { reply(-value) }
}

@Suite("ServiceThread", .serialized, .timeLimit(.minutes(1)))
struct ServiceThreadTests {
    @Test func commandsReachTheLoopInTheOrderTheyWereSent() async throws {
        let thread = ServiceThread<TestCommand>(name: uniqueThreadName())
        let seen = Mutex<[Int]>([])
        try thread.start { runLoop(thread, into: seen) }
        for value in 0..<5_000 { #expect(thread.send(.number(value))) }
        #expect(await thread.ask { .echo(1, $0) } == 1)
        #expect(seen.withLock { $0 } == Array(0..<5_000))
        thread.send(.stop)
        await thread.waitUntilFinished()
    }

    @Test func aCommandWakesALoopThatWaitsWithoutATimeout() async throws {
        let thread = ServiceThread<TestCommand>(name: uniqueThreadName())
        try thread.start { runLoop(thread, into: Mutex([])) }
        for value in 1...20 {
            #expect(await thread.ask { .echo(value, $0) } == value)
        }
        thread.send(.stop)
        await thread.waitUntilFinished()
    }

    @Test func aLoopWithoutSocketsWaitsForAWakeUpOrItsTimeout() async throws {
        let thread = ServiceThread<TestCommand>(name: uniqueThreadName())
        let wakes = Mutex<[Bool]>([])
        let stopped = Mutex(false)
        try thread.start {
            while !stopped.withLock({ $0 }) {
                let woken = thread.waitForWake(timeoutMilliseconds: 20)
                thread.clearWake()
                wakes.withLock { $0.append(woken) }
            }
        }
        #expect(try await eventually { wakes.withLock { $0.contains(false) } }, "the timeout ends a wait")
        thread.wakeUp()
        #expect(try await eventually { wakes.withLock { $0.contains(true) } }, "a wake-up ends a wait")
        stopped.withLock { $0 = true }
        await thread.waitUntilFinished()
        #expect(thread.phase == .finished)
    }

    @Test func startReturnsWhatTheBodyReportsOnceItIsReady() throws {
        let thread = ServiceThread<TestCommand>(name: uniqueThreadName())
        let outcome: Result<Int, ServiceThreadError> = try thread.start { started in
            started(.success(42))
            runLoop(thread, into: Mutex([]))
        }
        #expect(try outcome.get() == 42)
        #expect(thread.phase == .running)
        thread.send(.stop)
        thread.waitUntilFinishedBlocking()
    }

    @Test func aBodyThatCannotServeReportsWhyAndTheThreadFinishes() throws {
        struct BindFailed: Error, Equatable {}
        let thread = ServiceThread<TestCommand>(name: uniqueThreadName())
        let outcome: Result<Void, BindFailed> = try thread.start { started in started(.failure(BindFailed())) }
        #expect(throws: BindFailed.self) { try outcome.get() }
        thread.waitUntilFinishedBlocking()
        #expect(thread.phase == .finished)
        #expect(!thread.send(.number(1)), "a finished thread refuses commands")
    }

    @Test func aBodyThatEndsWithoutReportingMakesStartThrow() throws {
        let thread = ServiceThread<TestCommand>(name: uniqueThreadName())
        #expect(throws: ServiceThreadError(.endedBeforeStarting, thread: thread.name)) {
            let _: Int = try thread.start { _ in }
        }
        #expect(thread.phase == .finished)
    }

    @Test func aThreadStartsOnlyOnce() throws {
        let thread = ServiceThread<TestCommand>(name: uniqueThreadName())
        try thread.start { runLoop(thread, into: Mutex([])) }
        #expect(throws: ServiceThreadError(.startedTwice, thread: thread.name)) { try thread.start {} }
        thread.send(.stop)
        thread.waitUntilFinishedBlocking()
    }

    @Test func waitingForTheEndReturnsOnlyOnceTheBodyHasReturned() async throws {
        let thread = ServiceThread<TestCommand>(name: uniqueThreadName())
        let returned = Mutex(false)
        try thread.start {
            runLoop(thread, into: Mutex([]))
            usleep(100_000)  // a deliberate window: the wait must not end before the body does
            returned.withLock { $0 = true }
        }
        #expect(thread.phase == .running)
        thread.send(.stop)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<3 { group.addTask { await thread.waitUntilFinished() } }
        }
        #expect(returned.withLock { $0 })
        #expect(thread.phase == .finished)
        thread.waitUntilFinishedBlocking()  // and a later wait returns at once
    }

    @Test func commandsAfterTheQueueClosesAreRefusedAndQueuedOnesAnswered() async throws {
        let thread = ServiceThread<TestCommand>(name: uniqueThreadName())
        let hold = Mutex(true)
        let entered = Mutex(false)
        try thread.start {
            entered.withLock { $0 = true }
            while hold.withLock({ $0 }) { usleep(1_000) }
            for case .echo(let value, let reply) in thread.closeQueue() { reply(-value) }
        }
        #expect(try await eventually { entered.withLock { $0 } })
        let early = Task { await thread.ask { .echo(7, $0) } }
        #expect(try await eventually { thread.waitForWake(timeoutMilliseconds: 0) }, "the ask is queued")
        hold.withLock { $0 = false }
        #expect(await early.value == -7, "the loop answers what is still queued when it closes the queue")
        await thread.waitUntilFinished()
        #expect(!thread.send(.number(1)))
        #expect(await thread.ask { .echo(8, $0) } == nil)
        #expect(thread.askBlocking { .echo(9, $0) } == nil)
    }

    @Test func commandsBeforeTheStartAreRefusedUnlessTheyMayWait() async throws {
        let refusing = ServiceThread<TestCommand>(name: uniqueThreadName())
        #expect(!refusing.send(.number(1)))
        #expect(await refusing.ask { .echo(1, $0) } == nil)
        await refusing.waitUntilFinished()  // a thread that never started has nothing to wait for

        let waiting = ServiceThread<TestCommand>(name: uniqueThreadName(), queuesBeforeStart: true)
        let seen = Mutex<[Int]>([])
        #expect(waiting.send(.number(1)))
        #expect(waiting.send(.number(2)))
        try waiting.start { runLoop(waiting, into: seen) }
        #expect(waiting.askBlocking { .echo(3, $0) } == 3)
        #expect(seen.withLock { $0 } == [1, 2])
        waiting.send(.stop)
        await waiting.waitUntilFinished()
    }

    @Test func theThreadCarriesItsNameAndLeavesNothingBehind() async throws {
        let name = uniqueThreadName()
        let thread = ServiceThread<TestCommand>(name: name)
        let _: Bool = try thread.start { started in
            started(true)  // the thread is named before its body runs
            runLoop(thread, into: Mutex([]))
        }
        #expect(threadNames().filter { $0 == name }.count == 1, "ps -T shows the thread by its name")
        thread.send(.stop)
        await thread.waitUntilFinished()
        #expect(try await eventually { !threadNames().contains(name) }, "the thread has exited")
    }
}
