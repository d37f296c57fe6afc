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

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response)
        async throws -> Response
    {
        guard let presented = PresentedToken.find(in: request) else { return try await next(request, context) }
        var context = context
        let token: VerifiedToken
        // The address is read only when a failure must be counted: a cached hit never needs it.
        // A cache miss reserves a failure before its lookup (and gives it back if the token is
        // good), so parallel unknown tokens cannot all slip past the limit; a cached refusal is
        // counted after the fact, since it cost nothing.
        var reserved = false
        do {
            token = try await timedVerify(presented) {
                reserved = failures.reserve(context.clientIP)
                return reserved
            }
            if reserved { failures.release(context.clientIP) }
        } catch let error as KeyflareError where error.status == .unauthorized {
            if !reserved { failures.recordFailure(context.clientIP) }
            throw error
        }
        usage.record(token.tokenID)
        context.token = token
        return try await next(request, context)
    }

    /// Verifies, timing the verification alone (accepted or not), never the rest of the request.
    private func timedVerify(_ presented: String, mayLookUp: () -> Bool) async throws -> VerifiedToken {
        let start = ContinuousClock.now
        defer { metrics.authDuration.recordNanoseconds((ContinuousClock.now - start).nanoseconds) }
        return try await verifier.verify(presented, mayLookUp: mayLookUp)
    }
}
