#if canImport(Glibc)
  import Glibc
#endif

/// Serves the dashboard's files from one directory: only plain names (letters, digits, `.`, `_`, `-`
/// in `/`-separated parts, none starting with a dot), only regular files whose real path stays inside
/// the root, with a content type from a short list. Everything else is 404.
public struct StaticFiles: Sendable {
  public let root: String
  /// Files larger than this are not served (the dashboard's are a few KiB).
  public static let maxFileBytes = 4 << 20

  static let contentTypes: [String: String] = [
    "html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
    "mjs": "text/javascript; charset=utf-8", "json": "application/json", "svg": "image/svg+xml",
    "png": "image/png", "ico": "image/x-icon", "txt": "text/plain; charset=utf-8",
  ]

  /// `root` resolved to its real path (nil when it is not a directory).
  public init?(root: String) {
    guard let real = realpath(root, nil) else { return nil }
    defer { free(real) }
    var info = stat()
    guard stat(real, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return nil }
    self.root = String(cString: real)
  }

  /// The response for a GET of `path` (`/` is `/index.html`).
  public func response(for path: Substring) -> HTTPResponse {
    let name = path == "/" ? "/index.html" : String(path)
    let parts = name.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
    let allowed = parts.allSatisfy { part in
      !part.isEmpty && !part.hasPrefix(".")
        && part.utf8.allSatisfy { b in
          (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F
            || b == 0x2D
        }
    }
    guard allowed, let ext = parts.last?.split(separator: ".").last.map(String.init),
      let type = Self.contentTypes[ext.lowercased()]
    else { return .text(404, "not found\n") }
    guard let real = realpath(root + name, nil) else { return .text(404, "not found\n") }
    let resolved = String(cString: real)
    free(real)
    guard resolved.hasPrefix(root + "/") else { return .text(404, "not found\n") }
    let fd = open(resolved, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
    guard fd >= 0 else { return .text(404, "not found\n") }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, Int(info.st_size) <= Self.maxFileBytes else {
      return .text(404, "not found\n")
    }
    var body = [UInt8](repeating: 0, count: Int(info.st_size))
    var got = 0
    while got < body.count {
      let n = body.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { break }
      got += n
    }
    body.removeSubrange(got...)
    return HTTPResponse(status: 200, headers: [("Content-Type", type), ("Cache-Control", "no-cache")], body: body)
  }
}
