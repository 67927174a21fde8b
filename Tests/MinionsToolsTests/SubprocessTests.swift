import Foundation
import MinionsCore
import MinionsEngine
import MinionsTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Helpers of the subprocess, command tool and MCP tests: fixture paths and checks on processes.
enum ProcessFixtures {
  /// A program in `Tests/MinionsToolsTests/Fixtures`.
  static func path(_ name: String) -> String {
    repositoryRootPath + "/Tests/MinionsToolsTests/Fixtures/" + name
  }

  /// A Python 3 for the stdlib-only fixtures: the test venv's (`make test`), else the system's. Named
  /// directly rather than through `PATH`, where a version manager's shim costs a process per start.
  static let python: String = {
    if let venv = ProcessInfo.processInfo.environment["MINIONS_TEST_PYTHON"], !venv.isEmpty { return venv }
    for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"] where access(candidate, X_OK) == 0 {
      return candidate
    }
    return "python3"
  }()

  /// Whether `pid` no longer runs: no such process, or a zombie not yet reaped by its new parent.
  static func isGone(_ pid: Int32) -> Bool {
    if kill(pid, 0) != 0 && errno == ESRCH { return true }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return true }
    let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
    return state == "Z" || state == "X"
  }

  /// Waits (at most `seconds`) until every pid is gone; returns whether they all are.
  static func waitUntilGone(_ pids: [Int32], seconds: Double = 10) async -> Bool {
    for _ in 0..<Int(seconds * 20) {
      if pids.allSatisfy(isGone) { return true }
      try? await Task.sleep(for: .milliseconds(50))
    }
    return pids.allSatisfy(isGone)
  }

  /// Waits (at most `seconds`) for a file to exist and returns its text.
  static func waitForFile(_ path: String, seconds: Double = 10) async -> String? {
    for _ in 0..<Int(seconds * 20) {
      if let text = try? String(contentsOfFile: path, encoding: .utf8) { return text }
      try? await Task.sleep(for: .milliseconds(50))
    }
    return try? String(contentsOfFile: path, encoding: .utf8)
  }

  /// The pids written as "A B" by `group_sleeper.sh`.
  static func pids(in text: String) -> [Int32] {
    text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int32($0) }
  }

  static func openFileDescriptorCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
  }

  static func realPath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
  }
}

@Suite struct SubprocessTests {
  private func run(
    _ arguments: [String], stdin: String? = nil, configure: (inout Subprocess.Configuration) -> Void = { _ in }
  )
    async throws -> (Subprocess.Termination, Subprocess.Output)
  {
    var configuration = Subprocess.Configuration(arguments: arguments)
    configure(&configuration)
    let process = try Subprocess(configuration)
    if let stdin { process.write(stdin) }
    process.closeStdin()
    let termination = await process.wait()
    return (termination, await process.output())
  }

  @Test func exitCodesAreReported() async throws {
    #expect(try await run(["true"]).0 == .exited(code: 0))
    #expect(try await run(["/bin/sh", "-c", "exit 7"]).0 == .exited(code: 7))
    #expect(try await run(["false"]).0 == .exited(code: 1))
  }

  @Test func aSignalIsReportedByName() async throws {
    let (termination, _) = try await run(["/bin/sh", "-c", "kill -9 $$"])
    #expect(termination == .signalled(SIGKILL))
    #expect(termination.description == "was killed by signal 9 (SIGKILL)")
  }

  @Test func stdinReachesTheProgramAndStdoutComesBack() async throws {
    let (termination, output) = try await run(["cat"], stdin: "hello\nworld")
    #expect(termination == .exited(code: 0))
    #expect(output.stdoutText == "hello\nworld")
    // More than a pipe holds in both directions at once: the writer and reader threads keep it flowing.
    let big = String(repeating: "0123456789abcdef", count: 40_000)
    let (_, echoed) = try await run(["cat"], stdin: big)
    #expect(echoed.stdout.count == big.utf8.count && echoed.stdoutText == big)
  }

  @Test func aProgramThatDoesNotReadItsInputIsNoProblem() async throws {
    // The writer gets EPIPE (not a SIGPIPE that would end this process) and gives up quietly.
    let (termination, output) = try await run(
      ["/bin/sh", "-c", "exec 0<&-; echo closed"], stdin: String(repeating: "x", count: 1 << 20))
    #expect(termination == .exited(code: 0) && output.stdoutText == "closed\n")
    let (exited, _) = try await run(["true"], stdin: String(repeating: "y", count: 1 << 20))
    #expect(exited == .exited(code: 0))
  }

  @Test func largeOutputIsCappedButFullyRead() async throws {
    let (termination, output) = try await run(["head", "-c", "3000000", "/dev/zero"]) {
      $0.stdout = .keepHead(limit: 1 << 20)
    }
    #expect(termination == .exited(code: 0))
    #expect(output.stdout.count == 1 << 20)
    #expect(output.stdoutByteCount == 3_000_000)
    #expect(output.stdoutIsTruncated)
  }

  @Test func theEndOfStderrIsKept() async throws {
    let script = "i=0; while [ $i -lt 2000 ]; do echo \"line $i\" >&2; i=$((i+1)); done; echo done"
    let (_, output) = try await run(["/bin/sh", "-c", script]) { $0.stderr = .keepTail(limit: 1000) }
    #expect(output.stdoutText == "done\n")
    #expect(output.stderr.count == 1000)
    #expect(output.stderrText.hasSuffix("line 1998\nline 1999\n"))
    #expect(output.stderrByteCount > 10_000 && output.stderrIsTruncated)
  }

  @Test func theEnvironmentHoldsNoSecretsOfTheEngine() async throws {
    let engine = [
      "PATH": "/usr/bin:/bin", "HOME": "/home/minion", "LANG": "en_US.UTF-8",
      "MINIONS_JWT_SECRET": "a-very-secret-signing-key-0123456789", "OPENAI_API_KEY": "sk-secret",
      "ANTHROPIC_API_KEY": "secret", "HTTPS_PROXY": "http://user:pass@proxy:3128",
    ]
    let environment = ChildEnvironment.minimal(from: engine, adding: ["TOOL_SETTING": "on"])
    #expect(
      environment == ["PATH": "/usr/bin:/bin", "HOME": "/home/minion", "LANG": "en_US.UTF-8", "TOOL_SETTING": "on"])
    let (_, output) = try await run(["env"]) { $0.environment = environment }
    let lines = Set(output.stdoutText.split(separator: "\n").map(String.init))
    #expect(lines == ["PATH=/usr/bin:/bin", "HOME=/home/minion", "LANG=en_US.UTF-8", "TOOL_SETTING=on"])

    // With the engine's real environment, only the inherited names get through.
    let (_, real) = try await run(["env"]) { $0.environment = ChildEnvironment.minimal() }
    let names = real.stdoutText.split(separator: "\n").compactMap { $0.split(separator: "=").first.map(String.init) }
    #expect(!names.isEmpty)
    #expect(names.allSatisfy { ChildEnvironment.inheritedNames.contains($0) }, "\(names)")
  }

  @Test func theProgramStartsInTheWorkingDirectory() async throws {
    let directory = try temporaryDirectory(prefix: "subprocess-cwd")
    let (_, output) = try await run(["pwd"]) { $0.workingDirectory = directory }
    #expect(output.stdoutText == ProcessFixtures.realPath(directory) + "\n")
    // A relative program path is relative to the working directory.
    try "#!/bin/sh\necho from-script\n".write(toFile: directory + "/hello.sh", atomically: true, encoding: .utf8)
    chmod(directory + "/hello.sh", 0o755)
    let (_, script) = try await run(["./hello.sh"]) { $0.workingDirectory = directory }
    #expect(script.stdoutText == "from-script\n")
  }

  @Test func programsThatCannotRunAreClearErrors() async throws {
    #expect(throws: SubprocessError.notFound(program: "no-such-program-xyz", searchPath: "/usr/bin:/bin")) {
      _ = try Subprocess(.init(arguments: ["no-such-program-xyz"], environment: ["PATH": "/usr/bin:/bin"]))
    }
    #expect(throws: SubprocessError.noSuchFile(path: "/nonexistent/tool")) {
      _ = try Subprocess(.init(arguments: ["/nonexistent/tool"]))
    }
    let directory = try temporaryDirectory(prefix: "subprocess-noexec")
    try "echo hi\n".write(toFile: directory + "/plain.txt", atomically: true, encoding: .utf8)
    #expect(throws: SubprocessError.notExecutable(path: directory + "/plain.txt")) {
      _ = try Subprocess(.init(arguments: [directory + "/plain.txt"]))
    }
    #expect(throws: SubprocessError.workingDirectoryMissing("/nonexistent-dir")) {
      _ = try Subprocess(.init(arguments: ["true"], workingDirectory: "/nonexistent-dir"))
    }
    #expect(throws: SubprocessError.emptyCommand) { _ = try Subprocess(.init(arguments: [])) }
    #expect(SubprocessError.notFound(program: "x", searchPath: "/bin").description.contains("command not found: x"))
  }

  @Test func theChildInheritsOnlyItsThreeStreams() async throws {
    let (_, output) = try await run(["/bin/sh", "-c", "ls /proc/$$/fd"])
    #expect(output.stdoutText.split(separator: "\n") == ["0", "1", "2"])
  }

  @Test func noFileDescriptorLeaksOverManyRuns() async throws {
    for _ in 0..<5 { _ = try await run(["true"]) }
    let before = ProcessFixtures.openFileDescriptorCount()
    for i in 0..<150 {
      let process = try Subprocess(.init(arguments: ["/bin/sh", "-c", "echo \(i); echo err >&2"]))
      if i % 2 == 0 { process.write("ignored input") }
      process.closeStdin()
      _ = await process.wait()
      let output = await process.output()
      #expect(output.stdoutText == "\(i)\n")
    }
    // Each run opens six pipe ends; a leak of even one per run would show as 150. Other tests running
    // at the same time open descriptors too, hence the margin.
    let after = ProcessFixtures.openFileDescriptorCount()
    #expect(after - before < 40, "\(before) descriptors before, \(after) after 150 runs")
  }

  @Test func everyProcessIsReaped() async throws {
    let process = try Subprocess(.init(arguments: ["true"]))
    _ = await process.wait()
    // Reaped by us: not even a zombie is left.
    #expect(kill(process.pid, 0) == -1 && errno == ESRCH)
    #expect(!FileManager.default.fileExists(atPath: "/proc/\(process.pid)"))

    // A Subprocess given up while its program runs kills it, and the reaper still reaps it.
    var sleeper: Subprocess? = try Subprocess(.init(arguments: ["sleep", "60"]))
    let pid = sleeper!.pid
    #expect(!ProcessFixtures.isGone(pid))
    sleeper = nil
    #expect(await ProcessFixtures.waitUntilGone([pid]))
    #expect(await waitUntil { kill(pid, 0) == -1 && errno == ESRCH })
  }

  @Test func terminateKillsTheWholeGroupIncludingGrandchildren() async throws {
    let pidFile = try temporaryDirectory(prefix: "subprocess-group") + "/pids"
    let process = try Subprocess(.init(arguments: ["/bin/sh", ProcessFixtures.path("group_sleeper.sh"), pidFile]))
    let pids = ProcessFixtures.pids(in: try #require(await ProcessFixtures.waitForFile(pidFile)))
    #expect(pids.count == 2 && pids[0] == process.pid)
    #expect(!ProcessFixtures.isGone(pids[1]))
    process.terminate()
    #expect(await process.wait() == .signalled(SIGTERM))
    #expect(await ProcessFixtures.waitUntilGone(pids))
  }

  @Test func aProgramIgnoringSIGTERMIsKilledAfterTheGracePeriod() async throws {
    let process = try Subprocess(
      .init(
        arguments: ["/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"],
        stdout: .lines(maxLength: 100), terminationGraceMs: 300))
    let (lines, continuation) = AsyncStream<String>.makeStream()
    process.readLines { event in
      switch event {
      case .line(let bytes): continuation.yield(String(decoding: bytes, as: UTF8.self))
      case .tooLong: break
      case .end: continuation.finish()
      }
    }
    var iterator = lines.makeAsyncIterator()
    #expect(await iterator.next() == "ready")  // the trap is set
    process.terminate()
    #expect(await process.wait() == .signalled(SIGKILL))
  }

  @Test func backgroundChildrenDieWithTheProgram() async throws {
    let (termination, output) = try await run(["/bin/sh", "-c", "sleep 60 & echo $!"])
    #expect(termination == .exited(code: 0))
    let grandchild = try #require(Int32(output.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)))
    #expect(await ProcessFixtures.waitUntilGone([grandchild]))
  }

  @Test func aProcessThatLeftTheGroupCannotHoldTheOutputOpenForever() async throws {
    // `setsid` puts the sleeper in a session of its own, out of reach of the group kill; it keeps stdout
    // open, and reading gives up a little after the program exited.
    let marker = try temporaryDirectory(prefix: "subprocess-setsid") + "/escaped"
    let script = """
      setsid /bin/sh -c 'touch \(marker); exec sleep 30' & i=0
      while [ ! -f \(marker) ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
      echo $!
      """
    let (termination, output) = try await run(["/bin/sh", "-c", script])
    #expect(termination == .exited(code: 0))
    #expect(output.isIncomplete)
    let escaped = try #require(Int32(output.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)))
    kill(escaped, SIGKILL)
    #expect(await ProcessFixtures.waitUntilGone([escaped]))
  }

  @Test func stdoutCanBeReadAsLines() async throws {
    let process = try Subprocess(
      .init(arguments: ["/bin/sh", "-c", "printf 'a\\nb\\r\\n\\n%060d\\nlast'"], stdout: .lines(maxLength: 50)))
    let events = Mutex<[Subprocess.LineEvent]>([])
    let ended = AsyncStream<Void>.makeStream()
    process.readLines { event in
      events.withLock { $0.append(event) }
      if event == .end { ended.continuation.finish() }
    }
    for await _ in ended.stream {}
    #expect(
      events.withLock { $0 } == [
        .line(Array("a".utf8)), .line(Array("b".utf8)), .line([]), .tooLong(byteCount: 60), .line(Array("last".utf8)),
        .end,
      ])
    #expect(await process.wait() == .exited(code: 0))
  }

  @Test func manyProgramsAtOnceKeepTheirOwnOutput() async throws {
    try await withThrowingTaskGroup(of: (Int, String).self) { group in
      for i in 0..<16 {
        group.addTask {
          let (_, output) = try await run(["/bin/sh", "-c", "read line; echo \"$line-\(i)\""], stdin: "input\(i)\n")
          return (i, output.stdoutText)
        }
      }
      for try await (i, text) in group { #expect(text == "input\(i)-\(i)\n") }
    }
  }

  private func waitUntil(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<200 {
      if condition() { return true }
      try? await Task.sleep(for: .milliseconds(50))
    }
    return condition()
  }
}
