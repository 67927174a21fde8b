/// The engine's release version, for every layer that reports it (`minions version`, `initialize`,
/// the MCP client's `clientInfo`).
public enum MinionsBuild {
  public static let version = "0.1.0"
}
