import MinionsCore

/// The engine's errors. The server maps each to its protocol error in one place (no JSON-RPC here).
public enum EngineError: Error, Sendable, Equatable {
  /// Bad input: `field` is the dotted path of the offending field.
  case invalidField(String, String)
  case notFound(kind: String, id: String)
  case alreadyExists(kind: String, id: String)
  case permissionDenied(Permission)
  /// Credentials that prove nothing (unknown user, wrong password, bad or revoked token or key).
  case unauthenticated(String)
  case accountLocked(retryAfterSeconds: Int)
  /// Too much work in flight.
  case overloaded(String, retryAfterMs: Int)
}
