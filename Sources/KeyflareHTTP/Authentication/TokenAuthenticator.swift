import HTTPTypes
import Hummingbird
import KeyflareCore

/// Verifies the presented token, if any, before the handler runs and before any body is read: an
/// unauthenticated upload is answered 401 without being buffered.
///
/// A presented but invalid token is always a 401. No token at all leaves `context.token` nil; routes
/// that need one use `TokenContext`, which turns that into 401 "missing".
struct TokenAuthenticator: RouterMiddleware {
    typealias Context = AppRequestContext
    let verifier: any TokenVerifier
    let metrics: KeyflareMetrics
    let usage: UsageCounter
    /// Failed verifications per client address (`KEYFLARE_AUTH_FAILURES_PER_MINUTE`).
    let failures: FailureLimiter
    /// Per-token rate limits.
    let limiter: RateLimiter
    /// Where canary uses and rolled tokens used after their grace period are reported.
    let trips: any TokenTripRecording

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response)
        async throws -> Response
    {
        guard let presented = PresentedToken.find(in: request) else { return try await next(request, context) }
        var context = context
        let token = try await verify(presented, request: request, from: context)
        context.token = token
        context.usage = usage
        // Origin and address are counted for the token's page (top clients of the last day).
        let origin = Self.origin(of: request)
        // Most tokens are unrestricted and unlimited: two checks.
        guard !token.restrictions.isEmpty || token.rateLimit != nil else {
            usage.record(token.tokenID, client: context.client.key, origin: origin)
            return try await next(request, context)
        }
        let named = token.restrictions.allowedOrigins.isEmpty ? nil : Self.corsOrigin(for: origin, token.restrictions)
        var headers = HTTPFields()
        if let named { headers[.accessControlAllowOrigin] = named }
        do {
            if !token.restrictions.isEmpty { try token.restrictions.check(clientIP: context.clientIP, origin: origin) }
            if let limit = token.rateLimit {
                let decision = limiter.admitRequest(token.tokenID, limit: limit)
                Self.rateLimitHeaders(decision, into: &headers)
                guard decision.allowed else {
                    usage.recordRateLimited(token.tokenID)
                    headers[.retryAfter] = String(decision.resetSeconds)
                    return ErrorResponse.response(
                        status: .tooManyRequests,
                        message: "this token's rate limit (\(limit.requestsPerSecond) requests a second) is used up; retry in \(decision.resetSeconds) s",
                        headers: headers)
                }
            }
            usage.record(token.tokenID, client: context.client.key, origin: origin)
            var response = try await next(request, context)
            // Handlers never set these headers themselves, so appending is enough (and cheaper).
            response.headers.append(contentsOf: headers)
            return response
        } catch let error as KeyflareError {
            // Rendered here so that every answer carries the token's headers: the CORS answer names
            // only an allowed origin, and a limited token's answers say where it stands.
            var response = try error.response(from: request, context: context)
            for field in headers where field.name != .retryAfter || response.headers[.retryAfter] == nil {
                response.headers[field.name] = field.value
            }
            return response
        }
    }

    static let rateLimitPolicy = HTTPField.Name("RateLimit-Policy")!
    static let rateLimit = HTTPField.Name("RateLimit")!

    /// The IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers): the policy, requests per
    /// one-second window, and what is left with the seconds until the bucket is full.
    static func rateLimitHeaders(_ decision: RateLimiter.Decision, into headers: inout HTTPFields) {
        headers.append(HTTPField(name: rateLimitPolicy, value: "\"token\";q=\(decision.limit);w=1"))
        headers.append(HTTPField(name: rateLimit, value: "\"token\";r=\(decision.remaining);t=\(decision.resetSeconds)"))
    }

    /// The request's browser origin: `Origin`, else the origin of `Referer`.
    static func origin(of request: Request) -> String? {
        if let origin = request.headers[.origin], !origin.isEmpty { return origin }
        return request.headers[.referer].flatMap(TokenRestrictions.origin(ofReferer:))
    }

    /// What `Access-Control-Allow-Origin` says for a token with an origin list: the request's
    /// origin when it is allowed, else the first exact allowed origin (or `null`), so that a page
    /// from anywhere else cannot read the answer.
    static func corsOrigin(for origin: String?, _ restrictions: TokenRestrictions) -> String {
        if let origin, restrictions.allows(origin: origin) { return origin }
        return restrictions.allowedOrigins.first { !$0.wildcard }?.description ?? "null"
    }

    /// Verifies, timing the verification alone (accepted or not), never the rest of the request.
    ///
    /// A cached answer costs no I/O. A miss first reserves a failure for the client's address, so
    /// parallel unknown tokens cannot all slip past the limit; the reservation is given back when the
    /// token turns out to exist (valid, revoked or expired: real tokens are few and their records are
    /// cached after one lookup) or the database could not say. Only unknown tokens count, including a
    /// cached "no such token", which costs nothing and is counted after the fact, and malformed ones.
    /// So a client polling a token it just lost keeps its limit for the tokens it still has. The
    /// address is read only when a failure is counted: a cached hit never needs it.
    private func verify(_ presented: String, request: Request, from context: AppRequestContext) async throws -> VerifiedToken {
        let start = ContinuousClock.now
        defer { metrics.authDuration.recordNanoseconds((ContinuousClock.now - start).nanoseconds) }
        var lookedUp = false
        do {
            // A tripwire is reported, then answered as the refusal it stands for: from here on a
            // canary is an unknown token in every way (status, body, failure count, timing).
            do {
                switch try verifier.answer(presented) {
                case .cached(let verified):
                    metrics.recordVerification(hit: true)
                    return verified
                case .miss(let digest):
                    guard failures.reserve(context.clientIP) else { throw TokenRejection.tooManyFailures }
                    lookedUp = true
                    metrics.recordVerification(hit: false)
                    let verified = try await verifier.lookUp(digest)
                    failures.release(context.clientIP)
                    return verified
                }
            } catch let tripwire as TokenTripwire {
                trips.report(
                    TokenTrip(
                        tripwire: tripwire, clientIP: context.clientIP, origin: Self.origin(of: request).map(UsageCounter.kept).flatMap { $0.isEmpty ? nil : $0 },
                        userAgent: request.headers[.userAgent], route: TokenTrip.route(method: request.method.rawValue, path: request.uri.path)))
                throw tripwire.answer
            }
        } catch let error as KeyflareError where error.status == .unauthorized {
            let counts = error == TokenRejection.unknown || error == TokenRejection.malformed || error == TokenRejection.badChecksum
            if lookedUp {
                if !counts { failures.release(context.clientIP) }
            } else {
                if counts { failures.recordFailure(context.clientIP) }
                // A cached refusal is a cache hit; a malformed token never reached the cache.
                if error != TokenRejection.malformed, error != TokenRejection.badChecksum { metrics.recordVerification(hit: true) }
            }
            throw error
        } catch {
            if lookedUp { failures.release(context.clientIP) }
            throw error
        }
    }
}
