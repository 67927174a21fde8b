import MinionsCore
import MinionsEngine
import MinionsTestSupport
import Synchronization
import Testing

/// An executor for tests: records the order tasks start in, holds each until released, and then
/// answers with the task's params (or fails when asked to).
final class GatedExecutor: Sendable {
  let started = Mutex<[String]>([])
  let released = Mutex<Set<String>>([])
  let releaseAll = AtomicFlag()
  let sawCancellation = Mutex<Set<String>>([])

  func release(_ id: String) { released.withLock { _ = $0.insert(id) } }

  var executor: TaskQueue.Executor {
    { record, _ in
      self.started.withLock { $0.append(record.params["name"]?.stringValue ?? record.id) }
      for _ in 0..<3000 {
        if self.releaseAll.isSet || self.released.withLock({ $0.contains(record.params["name"]?.stringValue ?? "") }) {
          break
        }
        do {
          try await Task.sleep(nanoseconds: 5_000_000)
        } catch {
          self.sawCancellation.withLock { _ = $0.insert(record.params["name"]?.stringValue ?? "") }
          throw error
        }
      }
      if record.params["fail"] == true { throw EngineError.invalidField("x", "asked to fail") }
      if record.params["toolError"] == true {
        return TaskQueue.TaskResult(value: ["isError": true], failed: "the tool failed")
      }
      return TaskQueue.TaskResult(value: ["echo": record.params])
    }
  }
}

@Suite struct TaskQueueTests {
  func engine(maxConcurrent: Int, dataDirectory: String? = nil) async throws -> Engine {
    let e = try await makeTestEngine(dataDirectory: dataDirectory)
    _ = try await e.settings.update(
      scope: .system, userID: 0, values: ["tasks.maxConcurrent": .int(maxConcurrent)], now: e.clock.now())
    return e
  }

  /// A task that starts and finishes at once is stored with its start: the submit's insert is written
  /// before the task's own updates (it once raced them and lost its startedAt).
  @Test func tasksThatFinishAtOnceAreStoredWholeAndInOrder() async throws {
    let e = try await engine(maxConcurrent: 20)
    await e.tasks.start { _, _ in TaskQueue.TaskResult(value: ["ok": true]) }
    var ids: [String] = []
    for i in 0..<60 {
      ids.append(
        try await e.tasks.submit(kind: .tool, params: ["n": .int(i)], priority: .normal, identity: e.localOwner).id)
    }
    for id in ids {
      var r = try await e.tasks.get(id, userID: e.localOwner.userID!)
      for _ in 0..<500 where !r.status.isFinished {
        await waitSeconds(0.01)
        r = try await e.tasks.get(id, userID: e.localOwner.userID!)
      }
      #expect(r.status == .completed && r.startedAt != nil && r.finishedAt != nil, "\(id): \(r)")
      if let s = r.startedAt, let f = r.finishedAt { #expect(s <= f && r.createdAt <= s) }
    }
  }

  func waitUntil(_ condition: () async throws -> Bool) async rethrows {
    for _ in 0..<1000 {
      if try await condition() { return }
      await waitSeconds(0.005)
    }
  }

  @Test func higherPrioritiesGoFirstAndEachPriorityIsFirstInFirstOut() async throws {
    let e = try await engine(maxConcurrent: 1)
    let gate = GatedExecutor()
    await e.tasks.start(executor: gate.executor)
    let owner = e.localOwner
    let first = try await e.tasks.submit(kind: .tool, params: ["name": "A"], priority: .normal, identity: owner)
    await waitUntil { gate.started.withLock { $0 } == ["A"] }
    for (name, priority) in [
      ("B", TaskQueue.Priority.low), ("C", .critical), ("D", .normal), ("E", .high), ("F", .critical),
    ] {
      _ = try await e.tasks.submit(kind: .tool, params: ["name": .string(name)], priority: priority, identity: owner)
    }
    #expect(e.tasks.counts == (queued: 5, running: 1))
    gate.releaseAll.set()
    await waitUntil { gate.started.withLock { $0.count } == 6 }
    #expect(gate.started.withLock { $0 } == ["A", "C", "F", "E", "D", "B"])
    try await waitUntil { try await e.tasks.get(first.id, userID: owner.userID!).status == .completed }
    let done = try await e.tasks.get(first.id, userID: owner.userID!)
    #expect(done.result == ["echo": ["name": "A"]] && done.startedAt != nil && done.finishedAt != nil)
  }

  @Test func theConcurrencyLimitHolds() async throws {
    let e = try await engine(maxConcurrent: 2)
    let gate = GatedExecutor()
    await e.tasks.start(executor: gate.executor)
    for i in 0..<5 {
      _ = try await e.tasks.submit(
        kind: .tool, params: ["name": .string("t\(i)")], priority: .normal, identity: e.localOwner)
    }
    await waitUntil { gate.started.withLock { $0.count } == 2 }
    await waitSeconds(0.05)
    #expect(gate.started.withLock { $0.count } == 2)
    #expect(e.tasks.counts == (queued: 3, running: 2))
    gate.release("t0")
    await waitUntil { gate.started.withLock { $0.count } == 3 }
    #expect(gate.started.withLock { $0 } == ["t0", "t1", "t2"])
    gate.releaseAll.set()
  }

  @Test func queuedTasksSurviveARestartAndRunningOnesAreMarkedFailed() async throws {
    let dir = try temporaryDirectory(prefix: "minions-tasks")
    var ids: [String] = []
    var runningID = ""
    do {
      let e = try await engine(maxConcurrent: 1, dataDirectory: dir)
      let gate = GatedExecutor()
      await e.tasks.start(executor: gate.executor)
      runningID = try await e.tasks.submit(
        kind: .tool, params: ["name": "held"], priority: .normal, identity: e.localOwner
      ).id
      await waitUntil { gate.started.withLock { $0 } == ["held"] }
      for name in ["q1", "q2"] {
        ids.append(
          try await e.tasks.submit(
            kind: .chat, params: ["name": .string(name)], priority: .high, identity: e.localOwner
          ).id)
      }
      e.close()  // stops with one running and two queued
    }
    let again = try await engine(maxConcurrent: 1, dataDirectory: dir)
    let gate = GatedExecutor()
    gate.releaseAll.set()
    await again.tasks.start(executor: gate.executor)
    let user = again.localOwner.userID!
    try await waitUntil { try await again.tasks.get(ids[1], userID: user).status == .completed }
    #expect(gate.started.withLock { $0 } == ["q1", "q2"])
    let lost = try await again.tasks.get(runningID, userID: user)
    #expect(lost.status == .failed && lost.error == "the engine stopped while it ran")
  }

  @Test func cancellingQueuedAndRunningTasks() async throws {
    let e = try await engine(maxConcurrent: 1)
    let gate = GatedExecutor()
    await e.tasks.start(executor: gate.executor)
    let user = e.localOwner.userID!
    let running = try await e.tasks.submit(
      kind: .tool, params: ["name": "run"], priority: .normal, identity: e.localOwner)
    let queued = try await e.tasks.submit(
      kind: .tool, params: ["name": "wait"], priority: .normal, identity: e.localOwner)
    await waitUntil { gate.started.withLock { $0 } == ["run"] }
    #expect(try await e.tasks.cancel(queued.id, userID: user).status == .cancelled)
    let stopped = try await e.tasks.cancel(running.id, userID: user)
    #expect(stopped.status == .cancelled)
    #expect(gate.sawCancellation.withLock { $0 } == ["run"])
    await waitSeconds(0.05)
    #expect(gate.started.withLock { $0 } == ["run"])  // the cancelled queued task never ran
    // A finished task is returned as it is; another user's task is not found.
    #expect(try await e.tasks.cancel(running.id, userID: user).status == .cancelled)
    await #expect(throws: EngineError.notFound(kind: "task", id: running.id)) {
      try await e.tasks.get(running.id, userID: user + 1)
    }
  }

  @Test func failuresAreRecordedWithTheirReason() async throws {
    let e = try await engine(maxConcurrent: 4)
    let gate = GatedExecutor()
    gate.releaseAll.set()
    await e.tasks.start(executor: gate.executor)
    let user = e.localOwner.userID!
    let thrown = try await e.tasks.submit(
      kind: .tool, params: ["name": "x", "fail": true], priority: .low, identity: e.localOwner)
    let toolError = try await e.tasks.submit(
      kind: .tool, params: ["name": "y", "toolError": true], priority: .low, identity: e.localOwner)
    try await waitUntil { try await e.tasks.get(toolError.id, userID: user).status.isFinished }
    try await waitUntil { try await e.tasks.get(thrown.id, userID: user).status.isFinished }
    let a = try await e.tasks.get(thrown.id, userID: user)
    #expect(a.status == .failed && a.error?.contains("asked to fail") == true)
    let b = try await e.tasks.get(toolError.id, userID: user)
    #expect(b.status == .failed && b.error == "the tool failed" && b.result == ["isError": true])
    #expect(try await e.tasks.list(userID: user, status: .failed).count == 2)
    #expect(try await e.tasks.list(userID: user, status: .completed).isEmpty)
  }

  @Test func finishedTasksAreKeptForTheConfiguredTime() async throws {
    let clock = EngineClock()
    let e = try await makeTestEngine(clock: clock)
    let gate = GatedExecutor()
    gate.releaseAll.set()
    await e.tasks.start(executor: gate.executor)
    let t = try await e.tasks.submit(kind: .tool, params: ["name": "x"], priority: .normal, identity: e.localOwner)
    try await waitUntil { try await e.tasks.get(t.id, userID: e.localOwner.userID!).status == .completed }
    #expect(try await e.tasks.pruneFinished() == 0)
    clock.advance(seconds: 25 * 3600)
    #expect(try await e.tasks.pruneFinished() == 1)
  }
}
