#if canImport(Glibc)
  import Glibc
#endif

/// glibc functions the Swift `Glibc` module does not import (they are declared only with
/// `_GNU_SOURCE`), looked up by name once. Each is nil on a C library without it.
enum GlibcSpawnSupport {
  typealias AddChdir =
    @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
  typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
  typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32

  /// `posix_spawn_file_actions_addchdir_np` (glibc 2.29): the child changes directory before exec.
  static let addChdir: AddChdir? = lookUp("posix_spawn_file_actions_addchdir_np")
  /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34): the child closes every fd from N up.
  static let addCloseFrom: AddCloseFrom? = lookUp("posix_spawn_file_actions_addclosefrom_np")
  /// `pipe2` (glibc 2.9): a pipe whose ends are close-on-exec from the start.
  static let pipe2: Pipe2? = lookUp("pipe2")

  private static func lookUp<Function>(_ name: String) -> Function? {
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, name) else { return nil }
    return unsafeBitCast(symbol, to: Function.self)
  }

  /// A pipe whose ends are close-on-exec and numbered 3 or above (so a dup2 onto 0–2 in the child
  /// always makes a fresh, inheritable descriptor); `(read, write)`, or nil with `errno` set.
  static func makePipe() -> (read: Int32, write: Int32)? {
    var fds: [Int32] = [-1, -1]
    if let pipe2 {
      guard pipe2(&fds, O_CLOEXEC) == 0 else { return nil }
    } else {
      // Without pipe2 a concurrent fork could inherit the ends before FD_CLOEXEC is set; our own
      // children are safe anyway, since they close every descriptor above 2.
      guard pipe(&fds) == 0 else { return nil }
      _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
      _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
    }
    for i in 0..<2 where fds[i] < 3 {
      let moved = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)
      close(fds[i])
      fds[i] = moved
    }
    if fds[0] < 0 || fds[1] < 0 {
      let saved = errno
      if fds[0] >= 0 { close(fds[0]) }
      if fds[1] >= 0 { close(fds[1]) }
      errno = saved
      return nil
    }
    return (fds[0], fds[1])
  }
}
