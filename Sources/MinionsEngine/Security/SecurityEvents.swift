import Synchronization

/// Changes that must take effect on live connections at once.
public enum SecurityEvent: Sendable, Equatable {
  /// The user was disabled or deleted, or their role or password changed: their sessions end.
  case userChanged(userID: Int64)
  /// A token was revoked (logout, refresh): sessions using it end.
  case tokenRevoked(tokenID: String)
  /// An API key was revoked: sessions using it end.
  case apiKeyRevoked(keyID: String)
}

/// Delivers security events to whoever holds live sessions (the server).
public final class SecurityEvents: Sendable {
  private let handlers = Mutex<[@Sendable (SecurityEvent) -> Void]>([])

  public init() {}

  public func subscribe(_ handler: @escaping @Sendable (SecurityEvent) -> Void) {
    handlers.withLock { $0.append(handler) }
  }

  func publish(_ event: SecurityEvent) {
    for h in handlers.withLock({ $0 }) { h(event) }
  }
}
