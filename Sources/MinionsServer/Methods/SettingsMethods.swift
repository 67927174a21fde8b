import JSONRPC
import MinionsCore
import MinionsEngine

/// `settings/*`: typed system settings (admins) and the caller's own preferences.
enum SettingsMethods {
  static func register(in table: inout MethodTable) {
    table.register(
      "settings/get", summary: "Returns every system setting and the caller's preferences, with effective values.",
      access: .authenticated, params: NoParams.self, result: SettingsResult.self
    ) { _, call in
      let identity = try call.requireIdentity()
      return SettingsResult(
        system: call.engine.settings.systemValues,
        user: call.engine.settings.userValues(userID: identity.userID ?? 0))
    }

    table.register(
      "settings/update", summary: "Changes system settings (requires settings.manage) or the caller's preferences.",
      description:
        "All values are validated before any is stored; an unknown key or a wrong type is -32602 naming it (values.KEY).",
      access: .authenticated, params: SettingsUpdateParams.self, result: SettingsResult.self
    ) { p, call in
      let identity = p.scope == .system ? try call.require(.settingsManage) : try call.requireIdentity()
      let userID = identity.userID ?? 0
      let changes = try await call.engine.settings.update(
        scope: p.scope, userID: userID, values: p.values,
        now: call.engine.clock.now())
      for change in changes {
        call.engine.audit.record(
          username: identity.username, action: "settings.update", target: "\(p.scope.rawValue):\(change.name)",
          outcome: .ok, details: ["old": change.old, "new": change.new])
      }
      return SettingsResult(
        system: call.engine.settings.systemValues, user: call.engine.settings.userValues(userID: userID))
    }
  }
}
