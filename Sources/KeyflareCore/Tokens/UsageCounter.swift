import Foundation
import Synchronization

/// Requests per token per UTC hour, counted in memory on the request path and drained in batches by
/// a flusher, so that no request pays for a database write. Each tally also counts the client
/// addresses and browser origins it saw, at most `maxDistinct` of each; the rest are counted together
/// under `UsageCounter.others`, so an attacker rotating addresses cannot grow a tally.
public final class UsageCounter: Sendable {
    /// What one token did since the last drain, in one UTC hour.
    public struct Tally: Sendable, Equatable {
        /// The token.
        public let tokenID: UUID
        /// The UTC hour the requests fell in.
        public let hour: HourStamp
        /// How many.
        public var requests: Int
        /// The latest of them.
        public var lastUsedAt: Date
        /// Requests refused by the token's rate limit (429), not in `requests`.
        public var rateLimited: Int = 0
        /// Accepted requests per client address; at most `maxDistinct` keys and `ClientKey.others`.
        public var clients: [ClientKey: Int] = [:]
        /// Requests per browser origin (`Origin`, else `Referer`'s origin), likewise bounded.
        public var origins: [String: Int] = [:]
        /// What the requests were used for (ingest into a source, a query of an endpoint, a
        /// management call), for least-privilege suggestions; likewise bounded.
        public var uses: [TokenUse: Int] = [:]

        /// The UTC day the hour falls on.
        public var day: DayStamp { hour.day }
    }

    /// Distinct client addresses, and distinct origins, one tally keeps before counting the rest as
    /// `others`.
    public static let maxDistinct = 16
    /// The origin that counts whatever is past `maxDistinct`, or not worth keeping (an origin that
    /// is not printable ASCII, or longer than `maxOriginBytes`); `ClientKey.others` for addresses.
    public static let others = ""
    /// The longest origin kept as it is.
    public static let maxOriginBytes = 200

    private struct Key: Hashable {
        let tokenID: UUID
        let hour: HourStamp
    }

    private let tallies = Mutex<[Key: Tally]>([:])

    /// An empty counter.
    public init() {}

    /// Counts one request.
    /// - Parameters:
    ///   - tokenID: the token that authenticated it.
    ///   - client: the client's address, if known.
    ///   - origin: the request's browser origin, if it sent one.
    ///   - at: when.
    public func record(_ tokenID: UUID, client: ClientKey? = nil, origin: String? = nil, at date: Date = Date()) {
        count(tokenID, client: client, origin: origin, at: date) { tally in
            tally.requests += 1
            if date > tally.lastUsedAt { tally.lastUsedAt = date }
        }
    }

    /// Counts what an accepted request was used for (after its scope check passed). Not a request
    /// of its own: `record` counted that.
    /// - Parameters:
    ///   - tokenID: the token.
    ///   - use: what for.
    ///   - at: when.
    public func recordUse(_ tokenID: UUID, _ use: TokenUse, at date: Date = Date()) {
        count(tokenID, client: nil, origin: nil, at: date) { tally in
            Self.add(use, to: &tally.uses, others: TokenUse.others)
        }
    }

    /// Counts one request refused by the token's rate limit: a number, nothing the client chose (a
    /// refused request stores nothing of its own).
    /// - Parameters:
    ///   - tokenID: the token.
    ///   - at: when.
    public func recordRateLimited(_ tokenID: UUID, at date: Date = Date()) {
        count(tokenID, client: nil, origin: nil, at: date) { $0.rateLimited += 1 }
    }

    private func count(_ tokenID: UUID, client: ClientKey?, origin: String?, at date: Date, _ change: (inout Tally) -> Void) {
        let key = Key(tokenID: tokenID, hour: HourStamp(date))
        let origin = origin.map(Self.kept)
        tallies.withLock { tallies in
            // One hash lookup: the defaulted subscript is modified in place.
            Self.update(&tallies[key, default: Tally(tokenID: tokenID, hour: key.hour, requests: 0, lastUsedAt: date)]) { tally in
                change(&tally)
                if let client { Self.add(client, to: &tally.clients, others: ClientKey.others) }
                if let origin { Self.add(origin, to: &tally.origins, others: Self.others) }
            }
        }
    }

    private static func update(_ tally: inout Tally, _ body: (inout Tally) -> Void) { body(&tally) }

    private static func add<Value: Hashable>(_ value: Value, to counts: inout [Value: Int], by n: Int = 1, others: Value) {
        if counts[value] != nil || counts.count < maxDistinct || value == others {
            counts[value, default: 0] += n
        } else {
            counts[others, default: 0] += n
        }
    }

    /// The origin as it is when it has the form `scheme://host[:port]` and at most `maxOriginBytes`,
    /// else `others`: what is stored and shown later is an origin, never a control byte, a NUL, a
    /// path, a message to whoever reads the page, or a megabyte of header.
    public static func kept(_ origin: String) -> String {
        let utf8 = Array(origin.utf8)
        guard utf8.count <= maxOriginBytes, let colon = utf8.firstIndex(of: UInt8(ascii: ":")), colon > 0,
            utf8.count > colon + 3, utf8[colon + 1] == UInt8(ascii: "/"), utf8[colon + 2] == UInt8(ascii: "/")
        else { return others }
        func lowerLetter(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7A }
        func digit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        let scheme = utf8[..<colon]
        guard lowerLetter(scheme.first!),
            scheme.allSatisfy({ lowerLetter($0) || digit($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") })
        else { return others }
        let authority = utf8[(colon + 3)...]
        let allowed: (UInt8) -> Bool = { b in
            lowerLetter(b) || (b >= 0x41 && b <= 0x5A) || digit(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
                || b == UInt8(ascii: ":") || b == UInt8(ascii: "[") || b == UInt8(ascii: "]")
        }
        guard authority.allSatisfy(allowed) else { return others }
        return origin
    }

    /// Takes everything counted so far, leaving the counter empty.
    public func drain() -> [Tally] {
        tallies.withLock { tallies in
            let out = Array(tallies.values)
            // Not keepingCapacity: a burst of many tokens would otherwise pin its table forever.
            tallies = [:]
            return out
        }
    }

    /// Puts tallies back after a failed flush, so that they are retried rather than lost.
    /// - Parameters:
    ///   - tallies: what `drain()` returned.
    public func restore(_ returned: [Tally]) {
        tallies.withLock { tallies in
            for tally in returned {
                let key = Key(tokenID: tally.tokenID, hour: tally.hour)
                guard var existing = tallies[key] else {
                    tallies[key] = tally
                    continue
                }
                existing.requests += tally.requests
                existing.rateLimited += tally.rateLimited
                existing.lastUsedAt = max(existing.lastUsedAt, tally.lastUsedAt)
                for (value, n) in tally.clients { Self.add(value, to: &existing.clients, by: n, others: ClientKey.others) }
                for (value, n) in tally.origins { Self.add(value, to: &existing.origins, by: n, others: Self.others) }
                for (value, n) in tally.uses { Self.add(value, to: &existing.uses, by: n, others: TokenUse.others) }
                tallies[key] = existing
            }
        }
    }

    /// Requests counted but not yet drained (for tests).
    public var pending: Int { tallies.withLock { $0.values.reduce(0) { $0 + $1.requests } } }
}

/// What a token was used for: the unit of least-privilege suggestions.
public enum TokenUse: Sendable, Hashable, CustomStringConvertible {
    /// Sent events into a source.
    case ingest(UUID)
    /// Ran an endpoint.
    case query(UUID)
    /// Called the management API.
    case management
    /// More distinct uses than a tally keeps.
    case others

    /// `ingest:<id>`, `query:<id>`, `management`, `others`: as stored.
    public var description: String {
        switch self {
        case .ingest(let id): "ingest:" + id.uuidString.lowercased()
        case .query(let id): "query:" + id.uuidString.lowercased()
        case .management: "management"
        case .others: "others"
        }
    }

    /// Reads a stored use back; nil for anything else.
    /// - Parameters:
    ///   - text: the stored form.
    public init?(_ text: String) {
        switch text {
        case "management": self = .management
        case "others": self = .others
        default:
            if text.hasPrefix("ingest:"), let id = UUID(uuidString: String(text.dropFirst(7))) {
                self = .ingest(id)
            } else if text.hasPrefix("query:"), let id = UUID(uuidString: String(text.dropFirst(6))) {
                self = .query(id)
            } else {
                return nil
            }
        }
    }
}

/// A UTC clock hour.
public struct HourStamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Hours since 1970-01-01T00:00Z.
    public let hoursSinceEpoch: Int

    /// The UTC hour a moment falls in.
    /// - Parameters:
    ///   - date: the moment.
    public init(_ date: Date) {
        hoursSinceEpoch = Int((date.timeIntervalSince1970 / 3_600).rounded(.down))
    }

    /// The day the hour falls on.
    public var day: DayStamp { DayStamp(start) }

    /// The hour's first moment.
    public var start: Date { Date(timeIntervalSince1970: Double(hoursSinceEpoch) * 3_600) }

    /// `YYYY-MM-DDTHH:00:00Z`, as PostgreSQL's `timestamptz` reads it.
    public var description: String { RFC3339.format(start) }

    public static func < (a: HourStamp, b: HourStamp) -> Bool { a.hoursSinceEpoch < b.hoursSinceEpoch }
}

/// A UTC calendar day, as `YYYY-MM-DD`.
public struct DayStamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Days since 1970-01-01.
    public let daysSinceEpoch: Int

    /// The UTC day a moment falls on.
    /// - Parameters:
    ///   - date: the moment.
    public init(_ date: Date) {
        daysSinceEpoch = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
    }

    /// `YYYY-MM-DD`, as PostgreSQL's `date` reads it.
    public var description: String {
        let date = Date(timeIntervalSince1970: Double(daysSinceEpoch) * 86_400)
        return String(RFC3339.format(date).prefix(10))
    }

    public static func < (a: DayStamp, b: DayStamp) -> Bool { a.daysSinceEpoch < b.daysSinceEpoch }
}
