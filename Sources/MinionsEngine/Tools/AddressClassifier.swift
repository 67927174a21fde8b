#if canImport(Glibc)
  import Glibc
#endif

/// The kind of network a numeric IP address belongs to. Only `.publicAddress` may be reached by the
/// `http_request` tool unless the host is allowed by name.
public enum AddressCategory: String, Sendable, Equatable, CaseIterable {
  case publicAddress = "public"
  /// 127.0.0.0/8, ::1.
  case loopback
  /// 10/8, 172.16/12, 192.168/16, fec0::/10 (old site-local), 64:ff9b:1::/48 (local NAT64).
  case privateNetwork = "private"
  /// 100.64/10, carrier-grade NAT.
  case sharedAddressSpace = "shared"
  /// 169.254/16 (where cloud metadata services answer), fe80::/10.
  case linkLocal = "link-local"
  /// fc00::/7.
  case uniqueLocal = "unique-local"
  /// 0.0.0.0, :: (on Linux, connecting to it reaches this host).
  case unspecified
  /// 224/4, ff00::/8.
  case multicast
  /// 255.255.255.255.
  case broadcast
  /// Everything else that is not public: 0/8, 240/4, documentation, benchmarking and protocol ranges,
  /// Teredo, discard-only and unassigned IPv6.
  case reserved

  /// "a loopback address", for messages.
  public var phrase: String {
    switch self {
    case .publicAddress: return "a public address"
    case .loopback: return "a loopback address"
    case .privateNetwork: return "a private address"
    case .sharedAddressSpace: return "a carrier-grade NAT address"
    case .linkLocal: return "a link-local address"
    case .uniqueLocal: return "a unique-local address"
    case .unspecified: return "an unspecified address"
    case .multicast: return "a multicast address"
    case .broadcast: return "a broadcast address"
    case .reserved: return "a reserved address"
    }
  }
}

/// Classifies numeric IP addresses (as `getnameinfo` writes them: `10.0.0.1`, `::1`, `fe80::1%eth0`),
/// parsed with `inet_pton`. IPv6 forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`, compatible
/// `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are classified by the IPv4 address inside, so
/// `::ffff:127.0.0.1` is loopback like `127.0.0.1`.
public enum AddressClassifier {
  /// The category of `address`, or nil when it is not a numeric IPv4 or IPv6 address. Brackets
  /// (`[::1]`) and an IPv6 zone (`%eth0`) are ignored.
  public static func classify(_ address: String) -> AddressCategory? {
    var text = Substring(address)
    if text.hasPrefix("[") && text.hasSuffix("]") { text = text.dropFirst().dropLast() }
    if let percent = text.firstIndex(of: "%") { text = text[..<percent] }
    let plain = String(text)
    var v4 = in_addr()
    if inet_pton(AF_INET, plain, &v4) == 1 {
      return classify(ipv4: withUnsafeBytes(of: v4.s_addr) { Array($0) })
    }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, plain, &v6) == 1 {
      return classify(ipv6: withUnsafeBytes(of: v6) { Array($0) })
    }
    return nil
  }

  /// The category of an IPv4 address given as its four bytes in network order.
  public static func classify(ipv4 b: [UInt8]) -> AddressCategory {
    precondition(b.count == 4)
    switch (b[0], b[1], b[2]) {
    case (0, _, _): return b == [0, 0, 0, 0] ? .unspecified : .reserved
    case (10, _, _): return .privateNetwork
    case (100, 64...127, _): return .sharedAddressSpace
    case (127, _, _): return .loopback
    case (169, 254, _): return .linkLocal
    case (172, 16...31, _): return .privateNetwork
    case (192, 0, 0), (192, 0, 2), (192, 88, 99): return .reserved
    case (192, 168, _): return .privateNetwork
    case (198, 18...19, _), (198, 51, 100), (203, 0, 113): return .reserved
    case (224...239, _, _): return .multicast
    case (255, 255, 255) where b[3] == 255: return .broadcast
    case (240...255, _, _): return .reserved
    default: return .publicAddress
    }
  }

  /// The category of an IPv6 address given as its sixteen bytes in network order.
  public static func classify(ipv6 b: [UInt8]) -> AddressCategory {
    precondition(b.count == 16)
    let zeros = { (range: Range<Int>) in b[range].allSatisfy { $0 == 0 } }
    let embedded = Array(b[12..<16])
    if zeros(0..<16) { return .unspecified }
    if zeros(0..<15) && b[15] == 1 { return .loopback }
    if zeros(0..<10) && b[10] == 0xFF && b[11] == 0xFF { return classify(ipv4: embedded) }  // ::ffff:a.b.c.d
    if zeros(0..<12) {  // ::a.b.c.d, deprecated "IPv4-compatible"
      let inner = classify(ipv4: embedded)
      return inner == .publicAddress ? .reserved : inner
    }
    if zeros(0..<8) && b[8] == 0xFF && b[9] == 0xFF && zeros(10..<12) {  // ::ffff:0:a.b.c.d (SIIT)
      let inner = classify(ipv4: embedded)
      return inner == .publicAddress ? .reserved : inner
    }
    if b[0..<4] == [0x00, 0x64, 0xFF, 0x9B] {
      if zeros(4..<12) { return classify(ipv4: embedded) }  // 64:ff9b::/96, NAT64
      if b[4] == 0x00 && b[5] == 0x01 { return .privateNetwork }  // 64:ff9b:1::/48, local NAT64
    }
    if b[0] == 0x20 && b[1] == 0x02 { return classify(ipv4: Array(b[2..<6])) }  // 2002::/16, 6to4
    if b[0..<4] == [0x20, 0x01, 0x00, 0x00] { return .reserved }  // 2001::/32, Teredo
    if b[0..<4] == [0x20, 0x01, 0x0D, 0xB8] { return .reserved }  // 2001:db8::/32, documentation
    if b[0..<2] == [0x01, 0x00] && zeros(2..<8) { return .reserved }  // 100::/64, discard-only
    if b[0] & 0xFE == 0xFC { return .uniqueLocal }  // fc00::/7
    if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return .linkLocal }  // fe80::/10
    if b[0] == 0xFE && b[1] & 0xC0 == 0xC0 { return .privateNetwork }  // fec0::/10, old site-local
    if b[0] == 0xFF { return .multicast }
    if b[0] & 0xE0 == 0x20 { return .publicAddress }  // 2000::/3, global unicast
    return .reserved
  }
}
