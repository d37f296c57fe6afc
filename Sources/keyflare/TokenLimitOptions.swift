import ArgumentParser
import KeyflareCore

/// The allow-list and rate-limit options of `token create` and `token update`. The values are
/// checked by the same rules as the API's (`TokenRestrictions`, `RateLimit.validated`); only the
/// wording of a refusal changes, to name the flag rather than the JSON field.
struct TokenLimitOptions: ParsableArguments {
    @Option(
        name: .customLong("allowed-ip"),
        help: ArgumentHelp("A client network the token may be used from (CIDR such as 203.0.113.0/24, or one address); repeat for more.", valueName: "cidr"))
    var allowedIPs: [String] = []

    @Option(
        name: .customLong("allowed-origin"),
        help: ArgumentHelp("A web origin pages may use the token from (https://app.example.com or https://*.example.com); repeat for more.", valueName: "origin"))
    var allowedOrigins: [String] = []

    @Flag(help: "Refuse requests that carry neither Origin nor Referer (so only browsers, from allowed pages).")
    var requireOrigin = false

    @Option(help: ArgumentHelp("Sustained requests per second (1 to 1000000).", valueName: "n"))
    var requestsPerSecond: Int?

    @Option(help: ArgumentHelp("Requests that may come at once above the rate (default: the rate).", valueName: "n"))
    var burst: Int?

    @Option(help: ArgumentHelp("Ingest events per second (default: not limited).", valueName: "n"))
    var eventsPerSecond: Int?

    /// Whether any rate-limit value was given.
    var givesRateLimit: Bool { requestsPerSecond != nil || burst != nil || eventsPerSecond != nil }

    /// Whether any allow-list value was given.
    var givesRestrictions: Bool { !allowedIPs.isEmpty || !allowedOrigins.isEmpty || requireOrigin }

    /// The restrictions of a new token, validated.
    func restrictions() throws -> TokenRestrictions {
        try Self.flagWording {
            try TokenRestrictions(parsing: allowedIPs, allowedOrigins: allowedOrigins, requireOrigin: requireOrigin)
        }
    }

    /// The rate limit of a new token (nil when no value was given), validated.
    func rateLimit() throws -> RateLimit? {
        guard givesRateLimit else { return nil }
        return try rateLimit(over: nil)
    }

    /// The given values over `current`'s: what is not given keeps its value (a new limit's burst
    /// defaults to its rate).
    /// - Parameters:
    ///   - current: the limit as it stands, if any.
    func rateLimit(over current: RateLimit?) throws -> RateLimit {
        guard let rate = requestsPerSecond ?? current?.requestsPerSecond else {
            throw ValidationError("--burst and --events-per-second need --requests-per-second, unless the token already has a rate limit")
        }
        return try Self.flagWording {
            try RateLimit.validated(
                requestsPerSecond: rate, burst: burst ?? current?.burst,
                eventsPerSecond: eventsPerSecond ?? current?.eventsPerSecond)
        }
    }

    /// Runs `body`, turning a refusal by Core's rules into a `ValidationError` that names the flags
    /// (the messages name the API's fields: `allowed_ips`, `rate_limit.burst`, …).
    static func flagWording<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch KeyflareError.unprocessable(let message) {
            var text = message
            for (field, flag) in [
                ("rate_limit.requests_per_second", "--requests-per-second"), ("rate_limit.burst", "--burst"),
                ("rate_limit.events_per_second", "--events-per-second"), ("allowed_ips", "--allowed-ip"),
                ("allowed_origins", "--allowed-origin"), ("token_policy.max_lifetime_days", "--max-lifetime-days"),
            ] {
                text = text.replacingOccurrences(of: field, with: flag)
            }
            throw ValidationError(text)
        }
    }
}
