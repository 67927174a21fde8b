import MinionsStore

/// The engine's schema, as numbered migrations applied at startup. Times are milliseconds since the
/// Unix epoch (INTEGER); structured values are JSON text.
enum Schema {
  static let migrations: [Migration] = [
    Migration(
      1, "security",
      """
      CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        email TEXT,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'user', 'viewer', 'api_user')),
        disabled INTEGER NOT NULL DEFAULT 0,
        token_version INTEGER NOT NULL DEFAULT 1,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        first_failure_at INTEGER,
        locked_until INTEGER,
        lock_count INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_login_at INTEGER
      );
      CREATE TABLE revoked_tokens (
        jti TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        scopes TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        last_used_at INTEGER,
        revoked_at INTEGER
      );
      CREATE INDEX api_keys_user ON api_keys(user_id);
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        username TEXT,
        action TEXT NOT NULL,
        target TEXT,
        outcome TEXT NOT NULL,
        details TEXT
      );
      CREATE INDEX audit_at ON audit(at);
      CREATE INDEX audit_username ON audit(username, id);
      CREATE INDEX audit_action ON audit(action, id);
      CREATE TABLE settings (
        scope TEXT NOT NULL CHECK (scope IN ('system', 'user')),
        user_id INTEGER NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (scope, user_id, key)
      ) WITHOUT ROWID;
      """),
    Migration(
      2, "models",
      """
      CREATE TABLE models (
        name TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        config TEXT NOT NULL,
        source TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE model_calls (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        model TEXT NOT NULL,
        provider TEXT NOT NULL,
        status TEXT NOT NULL,
        error_kind TEXT,
        http_status INTEGER,
        ttft_ms REAL,
        total_ms REAL NOT NULL,
        load_ms REAL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        tokens_per_second REAL,
        cost REAL NOT NULL,
        estimated INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        fallback_from TEXT,
        username TEXT,
        session_id TEXT
      );
      CREATE INDEX model_calls_model ON model_calls(model, id);
      CREATE INDEX model_calls_at ON model_calls(at);
      """),
    Migration(
      3, "agents, sessions and tools",
      """
      CREATE TABLE agents (
        name TEXT PRIMARY KEY COLLATE NOCASE,
        config TEXT NOT NULL,
        created_by TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        agent TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        message_count INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX sessions_user ON sessions(user_id, updated_at DESC, id DESC);
      CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        turn_id TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
        agent TEXT,
        content TEXT NOT NULL,
        tool_calls TEXT,
        tool_call_id TEXT,
        tool_name TEXT,
        is_error INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX messages_session ON messages(session_id, id);
      CREATE VIRTUAL TABLE messages_fts USING fts5(
        content, content = 'messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
      );
      CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
      END;
      CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
      END;
      CREATE TABLE session_approvals (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        tool TEXT NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ('allow', 'reject')),
        decided_by TEXT,
        decided_at INTEGER NOT NULL,
        PRIMARY KEY (session_id, tool)
      ) WITHOUT ROWID;
      CREATE TABLE tools (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('command', 'mcp')),
        config TEXT NOT NULL,
        created_by TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE tool_calls (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        tool TEXT NOT NULL,
        username TEXT,
        session_id TEXT,
        agent TEXT,
        duration_ms REAL NOT NULL,
        is_error INTEGER NOT NULL,
        approval TEXT
      );
      CREATE INDEX tool_calls_tool ON tool_calls(tool, id);
      CREATE INDEX tool_calls_at ON tool_calls(at);
      """),
    Migration(
      4, "analytics, tasks and alerts",
      """
      CREATE TABLE metrics (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        name TEXT NOT NULL,
        value REAL NOT NULL,
        tags TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX metrics_at ON metrics(at);
      CREATE TABLE metric_rollups (
        hour INTEGER NOT NULL,
        name TEXT NOT NULL,
        tags TEXT NOT NULL,
        count INTEGER NOT NULL,
        sum REAL NOT NULL,
        min REAL NOT NULL,
        max REAL NOT NULL,
        PRIMARY KEY (name, hour, tags)
      ) WITHOUT ROWID;
      CREATE INDEX metric_rollups_hour ON metric_rollups(hour);
      CREATE TABLE metric_histograms (
        hour INTEGER NOT NULL,
        name TEXT NOT NULL,
        tags TEXT NOT NULL,
        bucket INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (name, hour, tags, bucket)
      ) WITHOUT ROWID;
      CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        username TEXT,
        target TEXT,
        details TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX events_at ON events(at);
      CREATE INDEX events_kind ON events(kind, at);
      CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL,
        username TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('chat', 'tool')),
        priority INTEGER NOT NULL,
        params TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
        result TEXT,
        error TEXT,
        seq INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER
      );
      CREATE INDEX tasks_status ON tasks(status, priority DESC, seq);
      CREATE INDEX tasks_user ON tasks(user_id, created_at);
      CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        message TEXT NOT NULL,
        value REAL NOT NULL,
        threshold REAL NOT NULL,
        at INTEGER NOT NULL,
        resolved_at INTEGER
      );
      CREATE INDEX alerts_at ON alerts(at);
      CREATE TABLE alert_rules (
        name TEXT PRIMARY KEY,
        config TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
      """),
  ]
}
