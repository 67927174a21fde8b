import MinionsCore
import MinionsCrypto
import MinionsStore
import Synchronization

/// Background work submitted with `tasks/submit`: chats and tool calls run by priority (critical, high,
/// normal, low; first in, first out within one), at most `tasks.maxConcurrent` at a time. Tasks are
/// stored: queued ones survive a restart (one that was running when the engine stopped is marked
/// failed), and finished ones are kept `tasks.keepResultsHours`.
public final class TaskQueue: Sendable {
  public enum Priority: String, Sendable, CaseIterable, Codable, JSONSchemaEnum {
    case low, normal, high, critical

    var rank: Int {
      switch self {
      case .low: return 0
      case .normal: return 1
      case .high: return 2
      case .critical: return 3
      }
    }

    init(rank: Int) { self = Priority.allCases.first { $0.rank == rank } ?? .normal }
  }

  public enum Kind: String, Sendable, CaseIterable, Codable, JSONSchemaEnum { case chat, tool }

  public enum Status: String, Sendable, CaseIterable, Codable, JSONSchemaEnum {
    case queued, running, completed, failed, cancelled

    public var isFinished: Bool { self == .completed || self == .failed || self == .cancelled }
  }

  public struct Record: Sendable, Equatable {
    public var id: String
    public var kind: Kind
    public var priority: Priority
    public var status: Status
    public var params: JSONValue
    public var result: JSONValue?
    public var error: String?
    public var userID: Int64
    public var username: String
    public var createdAt: Timestamp
    public var startedAt: Timestamp?
    public var finishedAt: Timestamp?
  }

  /// Runs a task: the protocol layer supplies it (it knows how to run a chat or a tool and what the
  /// result looks like). Throws for a failure; cancellation ends the task as cancelled.
  public typealias Executor = @Sendable (Record, Identity) async throws -> TaskResult

  /// What a task produced: its result, and whether it counts as failed (a tool that answered isError).
  public struct TaskResult: Sendable {
    public var value: JSONValue
    public var failed: String?

    public init(value: JSONValue, failed: String? = nil) {
      self.value = value
      self.failed = failed
    }
  }

  struct Queued {
    var record: Record
    var identity: Identity?
    var notify: Int?
  }

  struct State {
    /// Waiting tasks by priority rank (3 = critical), each first in, first out.
    var waiting: [[Queued]] = [[], [], [], []]
    var running: [String: Task<Void, Never>] = [:]
    var cancelRequested: Set<String> = []
    var executor: Executor?
    var seq: Int64 = 0
  }

  private let database: Database
  private let clock: EngineClock
  private let settings: SettingsStore
  private let users: UserDirectory
  private let logger: Logger
  private let state = Mutex(State())
  /// Told of every status change: the task, and the connection that submitted it (if known).
  private let observers = Mutex<[@Sendable (Record, Int?) -> Void]>([])
  /// Called with a task's id as it starts (the submit → start benchmark).
  private let startedHook = Mutex<(@Sendable (String) -> Void)?>(nil)

  /// Calls `hook` with each task's id as it starts, before its executor runs (one hook; nil removes it).
  public func onStart(_ hook: (@Sendable (String) -> Void)?) { startedHook.withLock { $0 = hook } }

  init(database: Database, clock: EngineClock, settings: SettingsStore, users: UserDirectory, logger: Logger) {
    self.database = database
    self.clock = clock
    self.settings = settings
    self.users = users
    self.logger = logger
  }

  /// Calls `observer` for every status change of every task.
  public func observe(_ observer: @escaping @Sendable (Record, Int?) -> Void) {
    observers.withLock { $0.append(observer) }
  }

  private func announce(_ r: Record, _ connection: Int?) {
    for o in observers.withLock({ $0 }) { o(r, connection) }
  }

  /// Starts running tasks with `executor`: those restored from the store, then new ones.
  public func start(executor: @escaping Executor) async {
    state.withLock { $0.executor = executor }
    await restore()
    pump()
  }

  /// Queues a task and stores it; returns once it is stored (it may already be running).
  public func submit(
    kind: Kind, params: JSONValue, priority: Priority, identity: Identity, connection: Int? = nil
  ) async throws -> Record {
    guard let userID = identity.userID else { throw EngineError.unauthenticated("this identity has no user") }
    let now = clock.now()
    let record = Record(
      id: "task_" + Crypto.hex(Crypto.randomBytes(8)), kind: kind, priority: priority, status: .queued, params: params,
      result: nil, error: nil, userID: userID, username: identity.username, createdAt: now, startedAt: nil,
      finishedAt: nil)
    let seq = state.withLock { s -> Int64 in
      s.seq += 1
      s.waiting[priority.rank].append(Queued(record: record, identity: identity, notify: connection))
      return s.seq
    }
    // The insert is queued on the database thread now, synchronously, so it is written before anything
    // the task writes once it starts (a write queued from another task could overtake it, and the
    // task's "running" update would then find no row). The task may start at once; the reply waits for
    // the insert to be committed (an empty write queued behind it).
    let row: [SQLValue] = [
      .text(record.id), .int(userID), .text(identity.username), .text(kind.rawValue), .int(Int64(priority.rank)),
      .text(JSONWriter.string(params)), .int(seq), .int(now.millisecondsSinceEpoch),
    ]
    database.writeLater { c in
      try c.execute(
        "INSERT INTO tasks(id, user_id, username, kind, priority, params, status, seq, created_at) "
          + "VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)", row)
    }
    pump()
    try await database.write { _ in }
    return record
  }

  /// Starts waiting tasks while there is room.
  private func pump() {
    let limit = max(1, settings.int("tasks.maxConcurrent"))
    while true {
      let next = state.withLock { s -> (Queued, Executor)? in
        guard let executor = s.executor, s.running.count < limit else { return nil }
        for rank in stride(from: 3, through: 0, by: -1) where !s.waiting[rank].isEmpty {
          let q = s.waiting[rank].removeFirst()
          // Reserve the slot before the task exists, so a concurrent pump cannot overfill.
          s.running[q.record.id] = Task {}
          return (q, executor)
        }
        return nil
      }
      guard let (queued, executor) = next else { return }
      let task = Task { await self.run(queued, executor) }
      state.withLock { s in if s.running[queued.record.id] != nil { s.running[queued.record.id] = task } }
    }
  }

  private func run(_ queued: Queued, _ executor: Executor) async {
    var record = queued.record
    startedHook.withLock { $0 }?(record.id)
    if state.withLock({ $0.cancelRequested.contains(record.id) }) {
      await finish(&record, .cancelled, result: nil, error: "cancelled before it started", connection: queued.notify)
      return
    }
    record.status = .running
    record.startedAt = clock.now()
    let started = record.startedAt!.millisecondsSinceEpoch
    let id = record.id
    database.writeLater { c in
      try c.execute(
        "UPDATE tasks SET status = 'running', started_at = ? WHERE id = ?", [.int(started), .text(id)])
    }
    announce(record, queued.notify)
    var identity = queued.identity
    if identity == nil, let user = try? await users.find(id: record.userID), !user.disabled {
      identity = user.identity(method: .token)
    }
    guard let identity else {
      await finish(
        &record, .failed, result: nil, error: "the user who submitted it no longer exists or is disabled",
        connection: queued.notify)
      return
    }
    do {
      let outcome = try await executor(record, identity)
      let cancelled = Task.isCancelled || state.withLock { $0.cancelRequested.contains(id) }
      if cancelled {
        await finish(&record, .cancelled, result: outcome.value, error: nil, connection: queued.notify)
      } else if let failure = outcome.failed {
        await finish(&record, .failed, result: outcome.value, error: failure, connection: queued.notify)
      } else {
        await finish(&record, .completed, result: outcome.value, error: nil, connection: queued.notify)
      }
    } catch is CancellationError {
      await finish(&record, .cancelled, result: nil, error: nil, connection: queued.notify)
    } catch {
      await finish(&record, .failed, result: nil, error: "\(error)", connection: queued.notify)
    }
  }

  private func finish(_ record: inout Record, _ status: Status, result: JSONValue?, error: String?, connection: Int?)
    async
  {
    record.status = status
    record.result = result
    record.error = error
    record.finishedAt = clock.now()
    let r = record
    do {
      try await database.write { c in
        try c.execute(
          "UPDATE tasks SET status = ?, result = ?, error = ?, finished_at = ? WHERE id = ?",
          [
            .text(status.rawValue), r.result.map { .text(JSONWriter.string($0)) } ?? .null,
            r.error.map(SQLValue.text) ?? .null, .int(r.finishedAt!.millisecondsSinceEpoch), .text(r.id),
          ])
      }
    } catch {
      logger.error("could not store the end of task \(r.id): \(error)")
    }
    state.withLock { s in
      s.running.removeValue(forKey: r.id)
      s.cancelRequested.remove(r.id)
    }
    announce(r, connection)
    pump()
  }

  // MARK: Reading and cancelling

  static let columns =
    "id, kind, priority, status, params, result, error, user_id, username, created_at, started_at, finished_at"

  static func record(_ row: Row) -> Record {
    func json(_ v: SQLValue) -> JSONValue? { v.text.flatMap { try? JSONParser.parse($0) } }
    func time(_ v: SQLValue) -> Timestamp? { v.int64.map(Timestamp.init(millisecondsSinceEpoch:)) }
    return Record(
      id: row[0].text ?? "", kind: Kind(rawValue: row[1].text ?? "") ?? .chat,
      priority: Priority(rank: row[2].int ?? 1),
      status: Status(rawValue: row[3].text ?? "") ?? .failed, params: json(row[4]) ?? [:], result: json(row[5]),
      error: row[6].text, userID: row[7].int64 ?? 0, username: row[8].text ?? "",
      createdAt: time(row[9]) ?? Timestamp(millisecondsSinceEpoch: 0), startedAt: time(row[10]),
      finishedAt: time(row[11]))
  }

  /// The task, if it is the user's (another user's task is not found).
  public func get(_ id: String, userID: Int64) async throws -> Record {
    let row = try await database.read { c in
      try c.queryOne("SELECT \(Self.columns) FROM tasks WHERE id = ? AND user_id = ?", [.text(id), .int(userID)])
    }
    guard let row else { throw EngineError.notFound(kind: "task", id: id) }
    return Self.record(row)
  }

  /// The user's tasks, newest first (at most `limit`), optionally of one status.
  public func list(userID: Int64, status: Status?, limit: Int = 200) async throws -> [Record] {
    try await database.read { c in
      if let status {
        return try c.query(
          "SELECT \(Self.columns) FROM tasks WHERE user_id = ? AND status = ? ORDER BY created_at DESC, seq DESC LIMIT ?",
          [.int(userID), .text(status.rawValue), .int(Int64(limit))]
        ).map(Self.record)
      }
      return try c.query(
        "SELECT \(Self.columns) FROM tasks WHERE user_id = ? ORDER BY created_at DESC, seq DESC LIMIT ?",
        [.int(userID), .int(Int64(limit))]
      ).map(Self.record)
    }
  }

  /// Cancels a queued or running task of the user's; a finished task is left as it is.
  public func cancel(_ id: String, userID: Int64) async throws -> Record {
    var current = try await get(id, userID: userID)
    guard !current.status.isFinished else { return current }
    let (wasQueued, running, notify) = state.withLock { s -> (Bool, Task<Void, Never>?, Int?) in
      for rank in 0..<4 {
        if let i = s.waiting[rank].firstIndex(where: { $0.record.id == id }) {
          let q = s.waiting[rank].remove(at: i)
          return (true, nil, q.notify)
        }
      }
      s.cancelRequested.insert(id)
      return (false, s.running[id], nil)
    }
    if wasQueued {
      await finish(&current, .cancelled, result: nil, error: nil, connection: notify)
      return current
    }
    running?.cancel()
    // A running task ends by itself once cancelled; wait a moment so the answer shows it.
    for _ in 0..<200 {
      let r = try await get(id, userID: userID)
      if r.status.isFinished { return r }
      try await Task.sleep(nanoseconds: 5_000_000)
    }
    return try await get(id, userID: userID)
  }

  /// Waiting and running counts.
  public var counts: (queued: Int, running: Int) {
    state.withLock { s in (s.waiting.reduce(0) { $0 + $1.count }, s.running.count) }
  }

  /// Finished and failed totals from the store (for `metrics/snapshot`).
  public func finishedCounts() async throws -> (completed: Int, failed: Int) {
    try await database.read { c in
      let rows = try c.query(
        "SELECT status, count(*) FROM tasks WHERE status IN ('completed', 'failed') GROUP BY status")
      var completed = 0
      var failed = 0
      for r in rows {
        if r[0].text == "completed" { completed = r[1].int ?? 0 } else { failed = r[1].int ?? 0 }
      }
      return (completed, failed)
    }
  }

  /// Queues the stored tasks that were waiting, and marks failed those that were running when the
  /// engine stopped.
  func restore() async {
    do {
      let now = clock.now().millisecondsSinceEpoch
      let (queued, maxSeq) = try await database.write { c -> ([Record], Int64) in
        try c.execute(
          "UPDATE tasks SET status = 'failed', error = 'the engine stopped while it ran', finished_at = ? "
            + "WHERE status = 'running'", [.int(now)])
        let rows = try c.query(
          "SELECT \(Self.columns) FROM tasks WHERE status = 'queued' ORDER BY priority DESC, seq")
        let seq = try c.scalarInt("SELECT coalesce(max(seq), 0) FROM tasks") ?? 0
        return (rows.map(Self.record), seq)
      }
      state.withLock { s in
        s.seq = max(s.seq, maxSeq)
        let known = Set(s.waiting.flatMap { $0.map(\.record.id) })
        for r in queued where !known.contains(r.id) {
          s.waiting[r.priority.rank].append(Queued(record: r, identity: nil, notify: nil))
        }
      }
    } catch {
      logger.error("could not restore the stored tasks: \(error)")
    }
  }

  /// Deletes finished tasks older than `tasks.keepResultsHours`.
  @discardableResult
  public func pruneFinished() async throws -> Int {
    let cutoff = clock.now().millisecondsSinceEpoch - Int64(settings.int("tasks.keepResultsHours")) * 3_600_000
    return try await database.write { c in
      try c.execute(
        "DELETE FROM tasks WHERE status IN ('completed', 'failed', 'cancelled') AND finished_at < ?", [.int(cutoff)])
      return c.changes
    }
  }
}
