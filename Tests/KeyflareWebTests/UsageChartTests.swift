import Foundation
import KeyflareStore
import Testing

@testable import KeyflareWeb

/// The usage chart's layout, and its rendering through the `chart` partial.
@Suite struct UsageChartTests {
    static func counts(_ pairs: [(Int, Int)]) -> [UsageStore.Count] {
        pairs.enumerated().map { UsageStore.Count(label: "d\($0.offset)", requests: $0.element.0, rateLimited: $0.element.1) }
    }

    @Test func barsShareThePlotByTheLargestTotal() {
        let chart = UsageChart(Self.counts([(0, 0), (50, 0), (100, 0), (50, 50), (1, 0)]), unit: "day", limited: true)
        let plot = UsageChart.plotHeight
        #expect(chart.bars.map(\.height) == [0, plot / 2, plot, plot / 2, 1], "a single request is still visible")
        #expect(chart.bars.map(\.limitedHeight) == [0, 0, 0, plot / 2, 0])
        for bar in chart.bars {
            #expect(bar.y + bar.height == plot, "bars stand on the baseline")
            #expect(bar.limitedY + bar.limitedHeight == bar.y, "429s sit on top of the accepted part")
            #expect(bar.limitedY >= 0)
        }
        #expect(chart.bars.map(\.x) == [0, 4, 8, 12, 16])
        #expect(chart.summary == "201 requests in 5 days, 50 refused by the rate limit")
    }

    @Test func emptyHugeAndNegativeCountsStayInside() {
        let empty = UsageChart([], unit: "day", limited: false)
        #expect(empty.bars.isEmpty && empty.width > 0)
        #expect(empty.summary == "0 requests in 0 days")
        let zeros = UsageChart(Self.counts([(0, 0), (0, 0)]), unit: "hour", limited: false)
        #expect(zeros.bars.allSatisfy { $0.height == 0 && $0.limitedHeight == 0 })
        #expect(!zeros.showLimited)
        let huge = UsageChart(Self.counts([(Int.max, Int.max), (-5, -1), (1, 0)]), unit: "day", limited: false)
        #expect(huge.showLimited, "refusals are shown when there were some, limit or not")
        for bar in huge.bars {
            #expect(bar.height >= 0 && bar.limitedHeight >= 0)
            #expect(bar.height + bar.limitedHeight <= UsageChart.plotHeight)
            #expect(bar.limitedY >= 0)
        }
        #expect(huge.bars[1].height == 0, "a negative count draws nothing")
    }

    @Test func theRenderedChartIsInertSVGWithTheNumbersForScreenReaders() throws {
        let counts = [
            UsageStore.Count(label: "2026-11-30", requests: 12, rateLimited: 3),
            UsageStore.Count(label: "<b>\"x\"</b>", requests: 0, rateLimited: 0),
        ]
        let values = UsageChart(counts, unit: "day", limited: true).values(id: "daily-1", title: "Requests of <i>me</i>", column: "Day")
        let html = try #require(Templates.library.render(values, withTemplate: "chart"))
        #expect(html.contains("<svg class=\"chart-svg\" viewBox=\"0 0 8 40\""))
        #expect(html.contains("aria-hidden=\"true\""))
        #expect(html.contains("<th scope=\"row\">2026-11-30</th><td>12</td><td>3</td>"))
        #expect(html.contains("<caption>Requests of &lt;i&gt;me&lt;/i&gt;</caption>"))
        #expect(html.contains("&lt;b&gt;&quot;x&quot;&lt;/b&gt;"))
        #expect(!html.contains("<b>") && !html.contains("<i>"))
        #expect(html.contains("12 requests in 2 days, 3 refused by the rate limit"))
        #expect(!html.contains("style="), "the console's CSP allows no style attribute")
        #expect(!html.contains("<script"))
        #expect(html.contains("class=\"chart-limited\""))
    }
}
