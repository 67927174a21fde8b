import MinionsCore

/// A tool call waiting for a person's yes or no.
public struct ApprovalRequest: Sendable, Equatable {
  public var sessionID: String
  public var turnID: String
  public var callID: String
  public var tool: String
  public var arguments: JSONValue
  /// The agent that wants to make the call.
  public var agent: String
}

/// The answer to an approval request (the option kinds of the Agent Client Protocol, and a cancelled
/// request).
public enum ApprovalOutcome: String, Sendable, Equatable, CaseIterable {
  case allowOnce = "allow_once"
  case allowAlways = "allow_always"
  case rejectOnce = "reject_once"
  case rejectAlways = "reject_always"
  case cancelled

  public var allows: Bool { self == .allowOnce || self == .allowAlways }

  /// The choices a person is offered, in this order (every outcome but `cancelled`).
  public static let offered: [ApprovalOutcome] = [.allowOnce, .allowAlways, .rejectOnce, .rejectAlways]

  /// How a choice reads in a prompt.
  public var label: String {
    switch self {
    case .allowOnce: return "Allow once"
    case .allowAlways: return "Always allow in this session"
    case .rejectOnce: return "Reject"
    case .rejectAlways: return "Always reject in this session"
    case .cancelled: return "Cancel"
    }
  }
}

/// Who decided an approval: the client's user, a remembered `*_always` answer, or the configured policy.
public enum ApprovalSource: String, Sendable {
  case client, remembered, policy
}

/// Decides approvals for a turn: asks the client when it declared `capabilities.approvals`, else
/// applies the configured policy. Supplied by the protocol layer; a model's output never reaches it,
/// so a model cannot approve its own calls.
public protocol ApprovalGate: Sendable {
  func decide(_ request: ApprovalRequest) async -> (ApprovalOutcome, ApprovalSource)
}

/// The gate without a client to ask: `tools.approvalPolicy` decides (deny unless set to allow).
public struct PolicyApprovalGate: ApprovalGate {
  let allow: @Sendable () -> Bool

  public init(allow: @escaping @Sendable () -> Bool) { self.allow = allow }

  public func decide(_ request: ApprovalRequest) async -> (ApprovalOutcome, ApprovalSource) {
    (allow() ? .allowOnce : .rejectOnce, .policy)
  }
}
