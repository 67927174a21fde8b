import JSONRPC
import MinionsCore
import MinionsEngine

/// `users/*`: managing users (admins), and changing one's own password.
enum UserMethods {
  static func register(in table: inout MethodTable) {
    table.register(
      "users/create", summary: "Creates a user.",
      description:
        "username: letters, digits, '.', '_', '-' (1–64); password: 8 to 72 bytes (longer is refused, never truncated).",
      access: .permission(.usersManage), errors: [.alreadyExists], params: UserCreateParams.self,
      result: UserResult.self
    ) { p, call in
      let actor = try call.requireIdentity()
      let user = try await call.engine.users.create(
        username: p.username, email: p.email, password: p.password, role: p.role,
        actor: actor.username)
      return UserResult(user: UserRecord(user, now: call.engine.clock.now()))
    }

    table.register(
      "users/list", summary: "Lists every user.", access: .permission(.usersManage), params: NoParams.self,
      result: UsersListResult.self
    ) { _, call in
      let now = call.engine.clock.now()
      return UsersListResult(users: try await call.engine.users.list().map { UserRecord($0, now: now) })
    }

    table.register(
      "users/get", summary: "Returns one user.", access: .permission(.usersManage), errors: [.notFound],
      params: UsernameParams.self, result: UserResult.self
    ) { p, call in
      UserResult(user: UserRecord(try await call.engine.users.get(username: p.username), now: call.engine.clock.now()))
    }

    table.register(
      "users/update", summary: "Changes a user's email, role, disabled state or password.",
      description: "A change of role, state or password invalidates the user's tokens and ends their sessions.",
      access: .permission(.usersManage), errors: [.notFound], params: UserUpdateParams.self, result: UserResult.self
    ) { p, call in
      let actor = try call.requireIdentity()
      var changes = UserDirectory.Changes(role: p.role, disabled: p.disabled, password: p.password)
      switch p.email {
      case nil: break
      case .null?: changes.email = .some(nil)
      case .string(let e)?: changes.email = .some(e)
      case let other?:
        throw ResponseError.invalidParams(field: "email", "expected string or null, got \(other.typeName)")
      }
      let user = try await call.engine.users.update(username: p.username, changes: changes, actor: actor.username)
      return UserResult(user: UserRecord(user, now: call.engine.clock.now()))
    }

    table.register(
      "users/delete", summary: "Deletes a user, their API keys and preferences; their sessions end.",
      access: .permission(.usersManage), errors: [.notFound], params: UsernameParams.self, result: DeletedResult.self
    ) { p, call in
      let actor = try call.requireIdentity()
      try await call.engine.users.delete(username: p.username, actor: actor.username)
      return DeletedResult(deleted: true)
    }

    table.register(
      "users/unlock", summary: "Clears a lockout after failed logins.", access: .permission(.usersManage),
      errors: [.notFound], params: UsernameParams.self, result: UserResult.self
    ) { p, call in
      let actor = try call.requireIdentity()
      let user = try await call.engine.users.unlock(username: p.username, actor: actor.username)
      return UserResult(user: UserRecord(user, now: call.engine.clock.now()))
    }

    table.register(
      "users/changePassword", summary: "Changes the caller's own password (the old one must be right).",
      description:
        "Every other session and token of the user ends; this connection stays logged in, and if it logged in with "
        + "a password or a token the result carries a fresh token to keep in place of the revoked one.",
      access: .authenticated, errors: [.unauthenticated], params: ChangePasswordParams.self,
      result: ChangePasswordResult.self
    ) { p, call in
      let identity = try call.requireIdentity()
      guard let userID = identity.userID, identity.method != .apiKey else {
        throw ResponseError.invalidRequest("API-key sessions cannot change the owner's password")
      }
      let user = try await call.engine.users.changePassword(
        userID: userID, oldPassword: p.oldPassword, newPassword: p.newPassword)
      // The change ended every session of the user; this one continues with the new token version, and
      // a client that keeps a token (a browser tab, for reloads) gets a fresh one.
      guard identity.method == .password || identity.method == .token else {
        call.session.setIdentity(user.identity(method: identity.method == .localOwner ? .localOwner : .password))
        return ChangePasswordResult(changed: true, token: nil, expiresAt: nil)
      }
      let issued = call.engine.authenticator.issueToken(for: user)
      call.session.setIdentity(user.identity(method: identity.method, tokenID: issued.tokenID))
      return ChangePasswordResult(changed: true, token: issued.token, expiresAt: issued.expiresAt)
    }
  }
}
