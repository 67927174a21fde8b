import MinionsCrypto

/// The server side of the opening handshake (RFC 6455 §4.2).
public enum WebSocketHandshake {
  static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

  /// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
  public static func acceptValue(forKey key: String) -> String {
    Crypto.base64Encode(Crypto.sha1(Array((key + guid).utf8)))
  }

  /// Checks an upgrade request: GET, `Upgrade: websocket`, `Connection: upgrade`, version 13, a key of
  /// 16 base64 bytes, and an `Origin` (when a browser sends one) that is the host being served — so a
  /// page on another site cannot open a connection with the user's browser. Returns the 101 response or
  /// the refusal.
  public static func respond(to request: HTTPRequestHead) -> (accepted: Bool, response: HTTPResponse) {
    guard request.method == "GET" else { return (false, .text(405, "WebSocket upgrades use GET\n")) }
    guard request.header("upgrade", contains: "websocket"), request.header("connection", contains: "upgrade") else {
      return (false, .text(426, "this endpoint speaks WebSocket: send Upgrade: websocket\n"))
    }
    guard request[header: "sec-websocket-version"] == "13" else {
      var r = HTTPResponse.text(426, "WebSocket version 13 only\n")
      r.headers.append(("Sec-WebSocket-Version", "13"))
      return (false, r)
    }
    guard let key = request[header: "sec-websocket-key"], let raw = Crypto.base64Decode(key), raw.count == 16 else {
      return (false, .text(400, "Sec-WebSocket-Key must be 16 bytes in base64\n"))
    }
    if let origin = request[header: "origin"], !originMatchesHost(origin, request[header: "host"]) {
      return (false, .text(403, "cross-origin WebSocket refused: the page must come from this server\n"))
    }
    if let query = request.query, query.contains("token=") || query.contains("password=") || query.contains("key=") {
      return (false, .text(400, "credentials do not belong in URLs: log in over the connection\n"))
    }
    return (
      true,
      HTTPResponse(
        status: 101,
        headers: [
          ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", acceptValue(forKey: key)),
        ])
    )
  }

  /// Whether `origin` (`scheme://host[:port]`) names the `Host` the request was sent to.
  static func originMatchesHost(_ origin: String, _ host: String?) -> Bool {
    guard let host, !host.isEmpty else { return false }
    for scheme in ["http://", "https://"] where origin.lowercased().hasPrefix(scheme) {
      return origin.dropFirst(scheme.count).lowercased() == host.lowercased()
    }
    return false
  }
}
