/// A count with its noun, for messages: "1 byte", "3 bytes", "1 match".
func counted(_ count: Int, _ singular: String, plural: String? = nil) -> String {
  "\(count) \(count == 1 ? singular : plural ?? singular + "s")"
}
