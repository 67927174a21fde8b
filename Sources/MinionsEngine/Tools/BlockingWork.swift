import MinionsCore

/// Work that blocks in the kernel or in a C library (walking directories, stepping SQLite) runs on the
/// blocking thread pool, so it never occupies a thread of the cooperative pool, which has only as many
/// as there are cores.
enum BlockingWork {
  /// Runs `body` on a pool thread and suspends until it returns. When the task is cancelled meanwhile,
  /// `onCancel` is called (from whichever thread cancels) so the body can stop early; the body's result
  /// is still awaited, so nothing it uses outlives this call.
  static func run<T: Sendable>(
    onCancel: @escaping @Sendable () -> Void = {},
    _ body: @escaping @Sendable () -> T
  ) async -> T {
    await withTaskCancellationHandler {
      await WorkerThreads.blocking.run(body)
    } onCancel: {
      onCancel()
    }
  }
}
