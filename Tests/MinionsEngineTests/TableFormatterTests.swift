import Foundation
import MinionsCore
import MinionsTestSupport
import Testing

@testable import MinionsEngine

/// A small table with every kind of cell: `|`, a comma, a quote, a newline, null, integers, doubles
/// (one with binary noise), booleans and a nested value.
enum SampleTable {
  static let columns = ["name", "count", "ratio", "ok", "note"]
  static let rows: [[JSONValue]] = [
    ["a|b", 1, 0.5, true, "x, y"],
    ["say \"hi\"", 20, 1.0000000002, false, "line1\nline2"],
    [nil, -3, 12.25, nil, ["k": [1, 2]]],
  ]
}

/// A reader for RFC 4180 text, to prove the CSV reads back as written.
enum CSVReader {
  enum Failure: Error { case strayQuote(Int), unterminatedQuote }

  static func records(_ text: String) throws -> [[String]] {
    var records: [[String]] = []
    var record: [String] = []
    var field = ""
    var quoted = false
    var fieldStarted = false
    var characters = Array(text.unicodeScalars)[...]
    var offset = 0
    while let c = characters.popFirst() {
      offset += 1
      if quoted {
        if c == "\"" {
          if characters.first == "\"" {
            field.unicodeScalars.append("\"")
            characters.removeFirst()
          } else {
            quoted = false
          }
        } else {
          field.unicodeScalars.append(c)
        }
        continue
      }
      switch c {
      case "\"":
        guard field.isEmpty && !fieldStarted else { throw Failure.strayQuote(offset) }
        quoted = true
        fieldStarted = true
      case ",":
        record.append(field)
        field = ""
        fieldStarted = false
      case "\r":
        guard characters.first == "\n" else { throw Failure.strayQuote(offset) }
      case "\n":
        record.append(field)
        records.append(record)
        record = []
        field = ""
        fieldStarted = false
      default:
        field.unicodeScalars.append(c)
        fieldStarted = true
      }
    }
    if quoted { throw Failure.unterminatedQuote }
    if fieldStarted || !record.isEmpty {
      record.append(field)
      records.append(record)
    }
    return records
  }
}

@Suite struct TableFormatterTests {
  let formatter = TableFormatter(columns: SampleTable.columns)

  @Test func markdownIsAnAlignedGitHubTable() {
    #expect(
      formatter.markdown(SampleTable.rows) == """
        | name     | count | ratio | ok    | note           |
        | -------- | ----: | ----: | ----- | -------------- |
        | a\\|b     |     1 |   0.5 | true  | x, y           |
        | say "hi" |    20 |     1 | false | line1<br>line2 |
        |          |    -3 | 12.25 |       | {"k":[1,2]}    |

        """)
  }

  @Test func csvFollowsRFC4180WithCRLF() {
    #expect(
      formatter.csv(SampleTable.rows)
        == "name,count,ratio,ok,note\r\n"
        + "a|b,1,0.5,true,\"x, y\"\r\n"
        + "\"say \"\"hi\"\"\",20,1.0000000002,false,\"line1\nline2\"\r\n"
        + ",-3,12.25,,\"{\"\"k\"\":[1,2]}\"\r\n")
  }

  @Test func jsonIsAnArrayOfObjectsInColumnOrder() throws {
    let text = formatter.json(SampleTable.rows)
    #expect(
      text == """
        [
        {"name":"a|b","count":1,"ratio":0.5,"ok":true,"note":"x, y"},
        {"name":"say \\"hi\\"","count":20,"ratio":1.0000000002,"ok":false,"note":"line1\\nline2"},
        {"name":null,"count":-3,"ratio":12.25,"ok":null,"note":{"k":[1,2]}}
        ]

        """)
    let parsed = try JSONParser.parse(text)
    #expect(parsed.arrayValue?.count == 3)
    #expect(parsed[1]?["ratio"] == 1.0000000002 && parsed[2]?["note"] == ["k": [1, 2]])
    #expect(formatter.json([]) == "[]\n")
  }

  @Test func ndjsonIsOneObjectPerLine() throws {
    let text = formatter.ndjson(SampleTable.rows)
    #expect(
      text == """
        {"name":"a|b","count":1,"ratio":0.5,"ok":true,"note":"x, y"}
        {"name":"say \\"hi\\"","count":20,"ratio":1.0000000002,"ok":false,"note":"line1\\nline2"}
        {"name":null,"count":-3,"ratio":12.25,"ok":null,"note":{"k":[1,2]}}

        """)
    let lines = text.split(separator: "\n")
    #expect(try lines.map { try JSONParser.parse(String($0)) }.count == 3)
    #expect(formatter.ndjson([]) == "")
  }

  @Test func renderPicksTheFormat() {
    for format in TabularFormat.allCases {
      let expected: String
      switch format {
      case .csv: expected = formatter.csv(SampleTable.rows)
      case .json: expected = formatter.json(SampleTable.rows)
      case .ndjson: expected = formatter.ndjson(SampleTable.rows)
      case .markdown: expected = formatter.markdown(SampleTable.rows)
      }
      #expect(formatter.render(SampleTable.rows, as: format) == expected)
    }
  }

  @Test func csvReadsBackAsWritten() throws {
    let records = try CSVReader.records(formatter.csv(SampleTable.rows))
    #expect(
      records == [
        SampleTable.columns,
        ["a|b", "1", "0.5", "true", "x, y"],
        ["say \"hi\"", "20", "1.0000000002", "false", "line1\nline2"],
        ["", "-3", "12.25", "", #"{"k":[1,2]}"#],
      ])
    // Awkward text round-trips exactly: quotes at the ends, lone CR, CRLF inside, commas only, Unicode.
    let awkward = ["\"", "\"\"", "a\rb", "a\r\nb", ",,,", " padded ", "naïve — 日本", "=1+1", ""]
    let table = TableFormatter(columns: ["text", "index"])
    let text = table.csv(awkward.enumerated().map { [.string($0.element), .int($0.offset)] })
    let read = try CSVReader.records(text)
    #expect(read.dropFirst().map { $0[0] } == awkward)
  }

  @Test func csvReadsBackInPythonsCSVModule() async throws {
    let python = "/usr/bin/python3"
    guard FileManager.default.isExecutableFile(atPath: python) else { return }
    let run = try await runProgram(
      python,
      [
        "-c",
        "import csv, json, sys; print(json.dumps(list(csv.reader(sys.stdin.buffer.read().decode().splitlines(True)))))",
      ], environment: [:], input: formatter.csv(SampleTable.rows))
    #expect(run.status == 0)
    let data = run.output
    let parsed = try JSONParser.parse(data)
    #expect(
      parsed == [
        ["name", "count", "ratio", "ok", "note"],
        ["a|b", "1", "0.5", "true", "x, y"],
        ["say \"hi\"", "20", "1.0000000002", "false", "line1\nline2"],
        ["", "-3", "12.25", "", #"{"k":[1,2]}"#],
      ])
  }

  @Test func aLoneEmptyFieldIsQuotedSoTheRecordIsNotABlankLine() throws {
    let single = TableFormatter(columns: ["only"])
    let text = single.csv([[nil], [""], ["x"]])
    #expect(text == "only\r\n\"\"\r\n\"\"\r\nx\r\n")
    #expect(try CSVReader.records(text) == [["only"], [""], [""], ["x"]])
  }

  @Test func csvNumbersHaveNoExponentOrBinaryNoise() {
    let table = TableFormatter(columns: ["n"])
    let values: [JSONValue] = [
      3.0, -0.0, 0.1, 1e-5, 1e16, 123_456_789.125, .double(0.1 + 0.2), 2.5e-7, 1e300, .double(.nan), .double(.infinity),
      .int(Int.min),
    ]
    #expect(
      table.csv(values.map { [$0] }).split(separator: "\r\n").dropFirst()
        == [
          "3", "0", "0.1", "0.00001", "10000000000000000", "123456789.125", "0.30000000000000004", "0.00000025",
          "1e+300", "\"\"", "\"\"", "-9223372036854775808",
        ])
  }

  @Test func roundedNumbersForPeople() {
    let cases: [(Double, String)] = [
      (1.0000000002, "1"), (3.14159265, "3.14159"), (0.000123456789, "0.000123457"), (123_456_789.4, "123456789"),
      (2.5, "2.5"), (-0.25, "-0.25"), (0, "0"), (-1e-9, "-1e-09"), (1.2345678e20, "1.23457e+20"), (99.99999999, "100"),
      (-0.0000004, "-4e-07"),
    ]
    for (value, text) in cases {
      #expect(NumberText.rounded(value, significantDigits: 6) == text, "\(value)")
    }
    #expect(NumberText.rounded(.nan, significantDigits: 6) == nil)
    #expect(NumberText.rounded(2.0 / 3.0, significantDigits: 3) == "0.667")
  }

  @Test func exactNumbersReadBackAsTheSameDouble() {
    let values: [Double] = [
      0.1, 1.0 / 3.0, 1e-5, 2.5e-7, 1e16, 1.5e21, 9_007_199_254_740_994, -123.456e-10, .pi, .leastNonzeroMagnitude,
    ]
    for value in values {
      let text = NumberText.exact(value)
      #expect(text.flatMap(Double.init) == value, "\(value) → \(text ?? "nil")")
      if abs(value) < 1e21 && abs(value) >= 1e-21 {
        #expect(text?.contains("e") == false, "\(value) → \(text ?? "nil")")
      }
    }
  }

  @Test func longMarkdownCellsAreShortenedWithAnEllipsis() {
    let table = TableFormatter(columns: ["text"], maxCellCharacters: 10)
    let rendered = table.markdown([
      ["0123456789"], ["0123456789A"], ["012345678|"], ["0123456\n89"], [.string(String(repeating: "ab|", count: 100))],
    ])
    #expect(
      rendered == """
        | text       |
        | ---------- |
        | 0123456789 |
        | 012345678… |
        | 012345678… |
        | 0123456…   |
        | ab\\|ab\\|a… |

        """)
  }

  @Test func markdownEdgeCases() {
    // No rows: header and alignment only; a column of nulls is left-aligned; names are escaped.
    #expect(TableFormatter(columns: ["a|b", "n"]).markdown([]) == "| a\\|b | n   |\n| ---- | --- |\n")
    // Numeric columns align their header right too.
    #expect(TableFormatter(columns: ["n"]).markdown([[nil], [1]]) == "|   n |\n| --: |\n|     |\n|   1 |\n")
    // A number among text makes the column text (left-aligned).
    #expect(TableFormatter(columns: ["v"]).markdown([[1], ["x"]]) == "| v   |\n| --- |\n| 1   |\n| x   |\n")
    #expect(TableFormatter(columns: []).markdown([[1]]) == "")
    // Short rows are padded with nulls and long ones cut.
    #expect(TableFormatter(columns: ["a", "b"]).csv([[1], [1, 2, 3]]) == "a,b\r\n1,\r\n1,2\r\n")
  }

  @Test func formatsNameTheirFiles() {
    #expect(TabularFormat.allCases.map(\.fileExtension) == ["csv", "json", "ndjson", "md"])
    #expect(TabularFormat(rawValue: "ndjson") == .ndjson && TabularFormat(rawValue: "xlsx") == nil)
  }
}
