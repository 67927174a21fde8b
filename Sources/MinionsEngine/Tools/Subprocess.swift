import MinionsCore

#if canImport(Glibc)
  import Glibc
#endif

/// A program the engine runs, in a process group of its own, with pipes for stdin, stdout and stderr.
///
/// Blocking work runs on threads of its own (one reaps the process, one reads each output pipe, one
/// writes stdin), never on Swift's cooperative pool. When the program exits, whatever is left of its
/// process group is killed, so a background child can neither outlive it nor hold its pipes open; a
/// `Subprocess` deallocated while its program still runs kills the group too. Every process is reaped.
public final class Subprocess: Sendable {
  /// What to run and how.
  public struct Configuration: Sendable {
    /// The program and its arguments. A program without `/` is looked up on the `PATH` of
    /// `environment`; a relative path is relative to `workingDirectory`.
    public var arguments: [String]
    /// The complete environment of the child (see `ChildEnvironment.minimal` for the usual one).
    public var environment: [String: String]
    /// Where the child starts; nil keeps the engine's current directory.
    public var workingDirectory: String?
    public var stdout: OutputHandling
    /// Kept for error messages; `.lines` is not supported for stderr.
    public var stderr: OutputHandling
    /// How long `terminate()` waits after SIGTERM before SIGKILL.
    public var terminationGraceMs: Int

    public init(
      arguments: [String], environment: [String: String] = ChildEnvironment.minimal(),
      workingDirectory: String? = nil, stdout: OutputHandling = .keepHead(limit: 1 << 20),
      stderr: OutputHandling = .keepTail(limit: 64 << 10), terminationGraceMs: Int = 2000
    ) {
      self.arguments = arguments
      self.environment = environment
      self.workingDirectory = workingDirectory
      self.stdout = stdout
      self.stderr = stderr
      self.terminationGraceMs = terminationGraceMs
    }
  }

  /// What becomes of an output stream. Everything is always read, so the child never blocks on a full
  /// pipe; the limits only bound what is kept.
  public enum OutputHandling: Sendable, Equatable {
    /// Keeps the first `limit` bytes (for results).
    case keepHead(limit: Int)
    /// Keeps the last `limit` bytes (for diagnostics: the end of stderr says what went wrong).
    case keepTail(limit: Int)
    /// Hands each line to the handler given to `readLines(_:)` (stdout only); lines longer than
    /// `maxLength` bytes are dropped and reported as `.tooLong`.
    case lines(maxLength: Int)
  }

  /// One event of a stdout read as lines.
  public enum LineEvent: Sendable, Equatable {
    /// A line without its line end (`\n` or `\r\n`).
    case line([UInt8])
    /// A line longer than the limit, dropped.
    case tooLong(byteCount: Int)
    /// stdout reached its end: the program and its group exited, or it closed stdout.
    case end
  }

  /// How the program ended.
  public enum Termination: Sendable, Equatable, CustomStringConvertible {
    case exited(code: Int32)
    case signalled(Int32)
    /// The status was lost: something else in the engine reaped the child (is SIGCHLD ignored?).
    case unknown

    init(waitStatus status: Int32) {
      let signal = status & 0x7f
      self = signal == 0 ? .exited(code: (status >> 8) & 0xff) : .signalled(signal)
    }

    public var description: String {
      switch self {
      case .exited(let code): return "exited with code \(code)"
      case .signalled(let signal): return "was killed by signal \(signal) (\(Self.signalName(signal)))"
      case .unknown: return "exited (its exit status was lost)"
      }
    }

    static func signalName(_ signal: Int32) -> String {
      let names: [Int32: String] = [
        SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
        SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1",
        SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM",
        SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ",
      ]
      return names[signal] ?? "signal \(signal)"
    }
  }

  /// What was kept of stdout and stderr once both reached their end.
  public struct Output: Sendable, Equatable {
    public var stdout: [UInt8]
    /// Every byte the program wrote to stdout, kept or not.
    public var stdoutByteCount: Int
    public var stderr: [UInt8]
    public var stderrByteCount: Int
    /// A process that left the group (setsid) kept a pipe open after the program exited; reading stopped.
    public var isIncomplete: Bool

    public var stdoutIsTruncated: Bool { stdoutByteCount > stdout.count }
    public var stderrIsTruncated: Bool { stderrByteCount > stderr.count }
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
  }

  /// The program's process id, which is also its process group id.
  public let pid: Int32
  public let configuration: Configuration
  private let monitor: SubprocessMonitor
  /// The read end of stdout in `.lines` mode until `readLines(_:)` takes it.
  private let pendingLinesFD: Int32?
  private let linesTaken = AtomicFlag()

  /// Starts the program. Throws when it cannot be started (not found, not executable, bad directory).
  public init(_ configuration: Configuration) throws(SubprocessError) {
    self.configuration = configuration
    guard let program = configuration.arguments.first, !program.isEmpty else { throw .emptyCommand }
    for argument in configuration.arguments where argument.utf8.contains(0) {
      throw .invalidArgument("an argument contains a NUL byte")
    }
    for (name, value) in configuration.environment {
      guard !name.isEmpty, !name.utf8.contains(61), !name.utf8.contains(0), !value.utf8.contains(0) else {
        throw .invalidArgument("invalid environment variable name or value: \(name)")
      }
    }
    if let directory = configuration.workingDirectory, !Self.isDirectory(directory) {
      throw .workingDirectoryMissing(directory)
    }
    let executable = try Self.resolve(
      program, searchPath: configuration.environment["PATH"] ?? ChildEnvironment.defaultPath,
      workingDirectory: configuration.workingDirectory)

    var opened: [Int32] = []
    func makePipe() throws(SubprocessError) -> (read: Int32, write: Int32) {
      guard let pipe = GlibcSpawnSupport.makePipe() else {
        let code = errno
        for fd in opened { close(fd) }
        throw .systemCall("pipe", errno: code)
      }
      opened += [pipe.read, pipe.write]
      return pipe
    }
    let stdinPipe = try makePipe()
    let stdoutPipe = try makePipe()
    let stderrPipe = try makePipe()

    // ETXTBSY: a program just written (a script a tool made) is still open for writing in a child that
    // another thread is spawning, between its fork and its exec; that passes within milliseconds.
    var spawned = Result<Int32, SubprocessError>.failure(.systemCall("posix_spawn", errno: ETXTBSY))
    for attempt in 0..<4 {
      if attempt > 0 { usleep(UInt32(5_000 << attempt)) }
      spawned = Self.spawn(
        executable: executable, arguments: configuration.arguments, environment: configuration.environment,
        workingDirectory: configuration.workingDirectory, stdin: stdinPipe.read, stdout: stdoutPipe.write,
        stderr: stderrPipe.write)
      guard case .failure(.systemCall(_, errno: ETXTBSY)) = spawned else { break }
    }
    close(stdinPipe.read)
    close(stdoutPipe.write)
    close(stderrPipe.write)
    guard case .success(let pid) = spawned, pid > 0 else {
      close(stdinPipe.write)
      close(stdoutPipe.read)
      close(stderrPipe.read)
      if case .failure(let error) = spawned { throw error }
      throw .systemCall("posix_spawn", errno: EINVAL)
    }

    self.pid = pid
    let monitor = SubprocessMonitor(
      pid: pid, stdinFD: stdinPipe.write, stdout: configuration.stdout, stderr: configuration.stderr,
      terminationGraceSeconds: Double(max(0, configuration.terminationGraceMs)) / 1000, readerGraceSeconds: 2)
    self.monitor = monitor
    spawnThread(name: "subprocess-\(pid)-reaper", stackSize: 128 * 1024) { monitor.reap() }
    let stderrFD = stderrPipe.read
    spawnThread(name: "subprocess-\(pid)-stderr", stackSize: 256 * 1024) {
      monitor.readCaptured(fd: stderrFD, isStdout: false)
    }
    if case .lines = configuration.stdout {
      pendingLinesFD = stdoutPipe.read
    } else {
      pendingLinesFD = nil
      let stdoutFD = stdoutPipe.read
      spawnThread(name: "subprocess-\(pid)-stdout", stackSize: 256 * 1024) {
        monitor.readCaptured(fd: stdoutFD, isStdout: true)
      }
    }
  }

  deinit {
    if monitor.exit.current == nil { monitor.signalGroup(SIGKILL) }
    if let fd = pendingLinesFD, linesTaken.setIfUnset() { close(fd) }
  }

  // MARK: Input

  /// Queues `bytes` for the program's stdin (written in order on the writer thread); false when stdin
  /// was closed or the program stopped reading it.
  @discardableResult
  public func write(_ bytes: [UInt8]) -> Bool { monitor.writer.enqueue(bytes) }

  @discardableResult
  public func write(_ text: String) -> Bool { write(Array(text.utf8)) }

  /// Closes stdin once everything queued was written: the program reads end-of-file.
  public func closeStdin() { monitor.writer.close() }

  // MARK: Output

  /// Starts reading stdout as lines (for `.lines`); call once, right after starting. The handler runs on
  /// the reader thread, in order, and gets `.end` last.
  public func readLines(_ handler: @escaping @Sendable (LineEvent) -> Void) {
    guard case .lines(let maxLength) = configuration.stdout, let fd = pendingLinesFD else {
      preconditionFailure("readLines needs stdout: .lines")
    }
    guard linesTaken.setIfUnset() else { preconditionFailure("readLines called twice") }
    let monitor = self.monitor
    // The default stack: the handler parses and answers messages on this thread.
    spawnThread(name: "subprocess-\(pid)-lines") {
      monitor.readLines(fd: fd, maxLength: max(1, maxLength), handler: handler)
    }
  }

  /// Waits until stdout and stderr reached their end (stderr only, with `.lines` stdout) and returns
  /// what was kept. Returns soon after the program exits, since its group is killed then.
  public func output() async -> Output { await monitor.output.wait() }

  /// `output()` for threads of our own: waits at most `timeoutSeconds`, blocking the calling thread.
  /// - Important: never on the cooperative pool.
  public func outputBlocking(timeoutSeconds: Double) -> Output? {
    monitor.output.waitBlocking(timeoutSeconds: timeoutSeconds)
  }

  /// The end of stderr read so far.
  public var stderrSoFar: [UInt8] { monitor.stderrSnapshot }

  // MARK: Ending

  /// How the program ended, or nil while it runs.
  public var termination: Termination? { monitor.exit.current }

  /// Waits for the program to end. Cancelling the waiting task does not end the wait: terminate the
  /// program for that (`withTaskCancellationHandler { await p.wait() } onCancel: { p.terminate() }`).
  public func wait() async -> Termination { await monitor.exit.wait() }

  /// Waits at most `timeoutSeconds` for the program to end, blocking the calling thread.
  /// - Important: only on threads of our own, never on the cooperative pool.
  public func waitBlocking(timeoutSeconds: Double) -> Termination? {
    monitor.exit.waitBlocking(timeoutSeconds: timeoutSeconds)
  }

  /// Sends `signal` to the program's whole process group (nothing once it was reaped).
  @discardableResult
  public func signal(_ signal: Int32) -> Bool { monitor.signalGroup(signal) }

  /// SIGTERM to the whole group, then SIGKILL after the grace period if the program is still running.
  /// Returns at once; `wait()` for the end.
  public func terminate() { monitor.terminate() }

  /// SIGKILL to the whole group now.
  public func kill() { monitor.signalGroup(SIGKILL) }

  /// Closes stdin and gives the program `gracePeriodMs` to exit on its own (servers exit at end of
  /// input), then `terminate()`s it. Returns at once; `wait()` for the end.
  public func shutDown(gracePeriodMs: Int) {
    closeStdin()
    let monitor = self.monitor
    spawnThread(name: "subprocess-\(pid)-shutdown", stackSize: 128 * 1024) {
      if monitor.exit.waitBlocking(timeoutSeconds: Double(max(0, gracePeriodMs)) / 1000) == nil {
        monitor.terminate()
      }
    }
  }

  // MARK: Spawning

  private static func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
  }

  private static func isExecutableFile(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
  }

  /// The path to exec: `program` itself when it has a `/`, else the first executable file of that name
  /// on `searchPath` (relative entries taken relative to the working directory, as the child sees them).
  static func resolve(_ program: String, searchPath: String, workingDirectory: String?) throws(SubprocessError)
    -> String
  {
    func located(_ path: String) -> String {
      if path.hasPrefix("/") { return path }
      return (workingDirectory ?? ".") + "/" + path
    }
    if program.contains("/") {
      let path = located(program)
      var info = stat()
      guard stat(path, &info) == 0 else { throw .noSuchFile(path: program) }
      guard isExecutableFile(path) else { throw .notExecutable(path: program) }
      return path
    }
    for directory in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
      let candidate = located((directory.isEmpty ? "." : String(directory)) + "/" + program)
      if isExecutableFile(candidate) { return candidate }
    }
    throw .notFound(program: program, searchPath: searchPath)
  }

  private static func spawn(
    executable: String, arguments: [String], environment: [String: String], workingDirectory: String?,
    stdin: Int32, stdout: Int32, stderr: Int32
  ) -> Result<Int32, SubprocessError> {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, stdin, 0)
    posix_spawn_file_actions_adddup2(&actions, stdout, 1)
    posix_spawn_file_actions_adddup2(&actions, stderr, 2)
    // Every other descriptor is close-on-exec already when the engine opened it; this also covers
    // descriptors some library opened without the flag.
    if let closeFrom = GlibcSpawnSupport.addCloseFrom { _ = closeFrom(&actions, 3) }
    if let directory = workingDirectory {
      guard let addChdir = GlibcSpawnSupport.addChdir else {
        return .failure(
          .invalidArgument("this C library cannot set a child's working directory (needs glibc 2.29 or later)"))
      }
      _ = addChdir(&actions, directory)
    }

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // Its own process group (so the whole tree can be signalled), default signal handling (the engine
    // ignores SIGPIPE; a child must not inherit that) and nothing blocked.
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    posix_spawnattr_setpgroup(&attributes, 0)
    var defaults = sigset_t()
    sigfillset(&defaults)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    var noneBlocked = sigset_t()
    sigemptyset(&noneBlocked)
    posix_spawnattr_setsigmask(&attributes, &noneBlocked)

    let argv = CStringArray(arguments)
    let envp = CStringArray(environment.map { "\($0.key)=\($0.value)" }.sorted())
    defer {
      argv.free()
      envp.free()
    }
    var pid: pid_t = 0
    let rc = argv.pointers.withUnsafeBufferPointer { argvBuffer in
      envp.pointers.withUnsafeBufferPointer { envpBuffer in
        posix_spawn(&pid, executable, &actions, &attributes, argvBuffer.baseAddress!, envpBuffer.baseAddress!)
      }
    }
    guard rc == 0 else {
      switch rc {
      case ENOENT: return .failure(.noSuchFile(path: executable))
      case EACCES: return .failure(.notExecutable(path: executable))
      default: return .failure(.systemCall("posix_spawn", errno: rc))
      }
    }
    return .success(pid)
  }
}

/// A NULL-terminated array of C strings for exec, freed explicitly.
private struct CStringArray {
  var pointers: [UnsafeMutablePointer<CChar>?]

  init(_ strings: [String]) {
    pointers = strings.map { strdup($0) }
    pointers.append(nil)
  }

  func free() {
    for pointer in pointers { Glibc.free(pointer) }
  }
}
