import HTTPTypes
import Hummingbird
import KeyflareCore
import KeyflareHTTP
import KeyflareStore

/// The context of console pages that need a signed-in user: it cannot be built without a session.
struct ConsoleContext: ChildRequestContext {
    var coreContext: CoreRequestContextStorage
    let session: ConsoleSession
    let client: ClientAddress
    var clientIP: String? { client.ip }

    init(context: AppRequestContext) throws {
        guard let session = context.consoleSession else { throw ConsoleProblem.signInRequired }
        coreContext = context.coreContext
        self.session = session
        client = context.client
    }

    /// The signed-in user, for the audit log.
    func actor(_ request: Request) -> AuditActor {
        AuditActor(kind: .user, id: session.userID, ip: clientIP, userAgent: request.headers[.userAgent])
    }
}

/// What a console page can go wrong with, beyond the domain's own errors.
enum ConsoleProblem: Error {
    /// No session: go to the sign-in page.
    case signInRequired
    /// A state-changing form without this session's CSRF token.
    case badCSRF
}
