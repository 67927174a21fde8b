#if canImport(Glibc)
  import Glibc
#endif

/// An open file descriptor, closed when this value goes away.
struct FileDescriptor: ~Copyable {
  let raw: Int32

  init(_ raw: Int32) { self.raw = raw }

  /// Hands the descriptor over (to `fdopendir`, which closes it itself).
  consuming func release() -> Int32 {
    let raw = self.raw
    discard self
    return raw
  }

  deinit { close(raw) }
}

/// The text of an `errno` value.
func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
