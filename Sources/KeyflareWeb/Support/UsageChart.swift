import KeyflareStore

/// A bar chart of a token's usage, laid out here and drawn by the `chart` partial as inline SVG: no
/// script, no style attribute, nothing but numbers and escaped labels reaching the markup. The SVG
/// is hidden from assistive technology; the same numbers are in a table only screen readers read,
/// and the visible caption sums them up.
struct UsageChart {
    /// One bar (and, for a limited token, the 429s stacked on it).
    struct Bar {
        let label: String
        let requests: Int
        let rateLimited: Int
        let x: Int
        /// The accepted part: from `y` down to the baseline.
        let y: Int
        let height: Int
        /// The refused part, on top of the accepted one; zero height when none.
        let limitedY: Int
        let limitedHeight: Int
    }

    let bars: [Bar]
    let barWidth: Int
    let width: Int
    let height: Int
    /// Whether 429s are drawn and listed (the token has a limit, or was refused some).
    let showLimited: Bool
    let summary: String

    /// Height of the drawing area in SVG units; the bars share it by their largest total.
    static let plotHeight = 40

    /// - Parameters:
    ///   - counts: oldest first.
    ///   - unit: "day" or "hour", for the summary.
    ///   - limited: whether the token has a rate limit.
    ///   - barWidth: SVG units per bar, gap included.
    init(_ counts: [UsageStore.Count], unit: String, limited: Bool, barWidth: Int = 4) {
        let totals = counts.map { Self.clamped($0.requests) &+ Self.clamped($0.rateLimited) }
        let largest = max(totals.max() ?? 0, 1)
        let plot = Self.plotHeight
        // Scaled in Double: an Int product of two large counts could overflow.
        func scaled(_ n: Int) -> Int {
            guard n > 0 else { return 0 }
            return max(1, Int((Double(n) / Double(largest) * Double(plot)).rounded()))
        }
        bars = counts.enumerated().map { i, count in
            let accepted = min(scaled(Self.clamped(count.requests)), plot)
            let refused = min(scaled(Self.clamped(count.rateLimited)), plot - accepted)
            return Bar(
                label: count.label, requests: count.requests, rateLimited: count.rateLimited, x: i * barWidth,
                y: plot - accepted, height: accepted, limitedY: plot - accepted - refused, limitedHeight: refused)
        }
        self.barWidth = barWidth
        width = max(counts.count * barWidth, barWidth)
        height = plot
        let requests = counts.reduce(0) { $0 &+ Self.clamped($1.requests) }
        let refused = counts.reduce(0) { $0 &+ Self.clamped($1.rateLimited) }
        showLimited = limited || refused > 0
        let span = "\(counts.count) \(unit)\(counts.count == 1 ? "" : "s")"
        summary = "\(requests) request\(requests == 1 ? "" : "s") in \(span)"
            + (showLimited ? ", \(refused) refused by the rate limit" : "")
    }

    /// A count as drawn: never negative, and small enough that sums cannot overflow.
    private static func clamped(_ n: Int) -> Int { min(max(n, 0), Int.max / 1_000_000) }

    /// The template's values.
    /// - Parameters:
    ///   - id: unique on the page, for the table's caption id.
    ///   - title: what the chart shows, e.g. "Requests per day, last 30 days".
    ///   - column: the first column's heading ("Day" or "Hour").
    func values(id: String, title: String, column: String) -> [String: Any] {
        [
            "id": id, "title": title, "column": column, "width": width, "height": height, "summary": summary,
            "showLimited": showLimited, "barWidth": max(barWidth - 1, 1),
            "bars": bars.map { bar -> [String: Any] in
                [
                    "label": bar.label, "requests": bar.requests, "rateLimited": bar.rateLimited, "x": bar.x, "y": bar.y,
                    "h": bar.height, "ly": bar.limitedY, "lh": bar.limitedHeight, "drawn": bar.height > 0,
                    "limitedDrawn": bar.limitedHeight > 0, "showLimited": showLimited,
                ]
            },
        ]
    }
}
