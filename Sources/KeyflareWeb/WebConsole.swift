import HTTPTypes
import Hummingbird
import KeyflareCore
import KeyflareHTTP
import KeyflareServer
import KeyflareStore
import Logging

/// The web console: server-rendered pages under `/console`, for people to manage tokens, sources and
/// endpoints. Install it on an application with `KeyflareApp(…, installers: [WebConsole.install])`.
public enum WebConsole {
    /// Adds the console's routes.
    /// - Parameters:
    ///   - router: the application's router.
    ///   - services: what the pages work with.
    @Sendable
    public static func install(on router: Router<AppRequestContext>, services: AppServices) {
        let pool = services.pool
        let sessions = SessionStore(pool: pool)
        let jar = CookieJar(secure: services.configuration.publicURL?.lowercased().hasPrefix("https://") == true)
        let base = services.configuration.publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
            ?? "http://\(services.configuration.host):\(services.configuration.port)"

        router.get("/") { _, _ in Page.redirect("/console/access-tokens") }
        let guarded = router.group("/console").add(middleware: ConsoleHeadersMiddleware())
        guarded.get("") { _, _ in Page.redirect("/console/access-tokens") }
        guarded.get("/static/console.css") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "public, max-age=3600"],
                body: .init(byteBuffer: ByteBuffer(string: Stylesheet.css))
            )
        }
        guarded.get("/static/console.js") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "public, max-age=3600"],
                body: .init(byteBuffer: ByteBuffer(string: ConsoleScript.javascript))
            )
        }

        let open = guarded.group("").add(middleware: ConsoleMiddleware(sessions: sessions, logger: services.logger))
        SignInPages(sessions: sessions, jar: jar).addRoutes(to: open)
        let console = open.group(context: ConsoleContext.self)
        console.post("/logout") { request, context in
            _ = try await ConsoleForm.read(request, context)
            if let cookie = CookieJar.value(SignInPages.sessionCookie, in: request) { try await sessions.signOut(cookie: cookie) }
            return Page.redirect("/console/login", headers: [.setCookie: jar.clear(SignInPages.sessionCookie, path: "/console")])
        }
        TokenPages(
            tokens: AccessTokenStore(pool: pool), sources: SourceStore(pool: pool), endpoints: EndpointStore(pool: pool),
            accounts: AccountStore(pool: pool), usage: UsageStore(pool: pool), audit: AuditStore(pool: pool), jar: jar)
            .addRoutes(to: console)
        SourcePages(sources: SourceStore(pool: pool), base: base).addRoutes(to: console)
        EndpointPages(endpoints: EndpointStore(pool: pool), sandbox: services.sandbox, base: base).addRoutes(to: console)
        WebhookPages(webhooks: WebhookStore(pool: pool, allowPrivate: services.configuration.webhooksAllowPrivate), jar: jar)
            .addRoutes(to: console)
        console.get("/**") { _, _ -> Response in throw KeyflareError.notFound("There is no such page.") }
    }
}

/// Reads a console form and checks its CSRF token: every state-changing handler calls this first.
enum ConsoleForm {
    static func read(_ request: Request, _ context: ConsoleContext) async throws -> FormData {
        let form = try await FormData.read(request)
        guard let token = form["_csrf"], constantTimeEquals(token, context.session.csrfToken) else {
            throw ConsoleProblem.badCSRF
        }
        return form
    }
}

/// Loads the session from its cookie, and turns every error on a console page into a page.
struct ConsoleMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let sessions: SessionStore
    let logger: Logger

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response)
        async throws -> Response
    {
        var context = context
        do {
            // Inside the do: a database error while reading the session is a console page too.
            if let cookie = CookieJar.value(SignInPages.sessionCookie, in: request) {
                context.consoleSession = try await sessions.session(cookie: cookie)
            }
            return try await next(request, context)
        } catch ConsoleProblem.signInRequired {
            return Page.redirect("/console/login")
        } catch ConsoleProblem.badCSRF {
            return Page.render(
                "problem", title: "Form expired", session: context.consoleSession, status: .forbidden,
                values: ["heading": "This form has expired", "message": "Reload the page and submit it again."])
        } catch let error as KeyflareError {
            let status = error.status
            let heading = status == .notFound ? "Page not found" : status.reasonPhrase
            return Page.render(
                "problem", title: heading, session: context.consoleSession, status: status,
                values: ["heading": heading, "message": error.message])
        } catch let error as HTTPError where error.status == .notFound {
            return Page.render(
                "problem", title: "Page not found", session: context.consoleSession, status: .notFound,
                values: ["heading": "Page not found", "message": "There is no such page."])
        } catch let error where DatabaseErrors.mapped(error) != nil {
            // As on the API: a busy or unreachable database is a 503 the user can retry, not a 500.
            let mapped = DatabaseErrors.mapped(error)!
            if mapped.worthAWarning {
                logger.warning("database failure", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            }
            let status = mapped.error.status
            return Page.render(
                "problem", title: status.reasonPhrase, session: context.consoleSession, status: status,
                values: ["heading": status.reasonPhrase, "message": mapped.error.message])
        } catch {
            logger.error("console error", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return Page.render(
                "problem", title: "Something went wrong", session: context.consoleSession, status: .internalServerError,
                values: ["heading": "Something went wrong", "message": "The error has been logged. Try again in a moment."])
        }
    }
}
