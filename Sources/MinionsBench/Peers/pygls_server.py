"""The peer for `make bench`: a minimal pygls language server answering the same request as Minions.

It answers `auth/whoami` with the same result object the engine returns, so both servers are driven by
the same client with the same bytes.
"""
try:
    from pygls.lsp.server import LanguageServer  # pygls >= 2
except ImportError:  # pragma: no cover
    from pygls.server import LanguageServer  # pygls 1.x

server = LanguageServer("pygls-peer", "1.0")

RESULT = {
    "authMethod": "local",
    "email": None,
    "permissions": ["chat", "sessions.read", "models.read", "models.manage", "tools.read", "tools.execute",
                    "tools.manage", "analytics.read", "analytics.export", "users.manage", "audit.read",
                    "settings.manage", "tasks.submit", "cache.manage"],
    "role": "admin",
    "username": "local",
}


@server.feature("auth/whoami")
def whoami(ls, params):
    return RESULT


if __name__ == "__main__":
    server.start_io()
