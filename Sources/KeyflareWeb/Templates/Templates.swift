import Mustache

/// The console's templates. They live in the binary, so a deployment is one file. Every
/// `{{value}}` is escaped by `HTMLEscaper` (by byte, not by grapheme cluster): the library puts
/// its content-type pragma in front of every template it registers, partials included, so no
/// template can forget it. `{{{body}}}` is only ever a page this library rendered.
///
/// No template may hold a `<script>` element, an `on…=` attribute or a `style=` attribute: the
/// console's Content-Security-Policy allows scripts and styles from `/console/static/` only.
enum Templates {
    static let library: MustacheLibrary = {
        MustacheContentTypes.register(HTMLEscaper(), named: HTMLEscaper.contentTypeName)
        var library = MustacheLibrary()
        for (name, text) in sources {
            // The templates are constants of this file, so a parse error is a programming error.
            try! library.register(pragma + text, named: name)
        }
        return library
    }()

    /// Selects `HTMLEscaper` for everything after it in a template.
    static let pragma = "{{% CONTENT_TYPE: \(HTMLEscaper.contentTypeName) }}"

    static let sources: [String: String] = [
        "layout": """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{{title}} · Keyflare</title>
            <link rel="stylesheet" href="/console/static/console.css">
            </head>
            <body>
            <a class="skip" href="#main">Skip to content</a>
            <header class="bar">
              <a class="brand" href="/console/access-tokens">Keyflare</a>
              {{#session}}
              <nav aria-label="Main">
                <a href="/console/access-tokens"{{#nav.tokens}} aria-current="page"{{/nav.tokens}}>Access tokens</a>
                <a href="/console/sources"{{#nav.sources}} aria-current="page"{{/nav.sources}}>Sources</a>
                <a href="/console/endpoints"{{#nav.endpoints}} aria-current="page"{{/nav.endpoints}}>Endpoints</a>
                <a href="/console/webhooks"{{#nav.webhooks}} aria-current="page"{{/nav.webhooks}}>Webhooks</a>
              </nav>
              <form method="post" action="/console/logout" class="signout">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <span class="who">{{email}} · {{account}}</span>
                <button type="submit">Sign out</button>
              </form>
              {{/session}}
            </header>
            <main id="main">
            {{#flash}}<p class="notice" role="status">{{flash}}</p>{{/flash}}
            {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
            {{{body}}}
            </main>
            </body>
            </html>
            """,
        "signin": """
            <h1>Sign in</h1>
            <form method="post" action="/console/login" class="card narrow">
              <input type="hidden" name="_csrf" value="{{csrf}}">
              <label for="email">Email</label>
              <input id="email" name="email" type="email" autocomplete="username" required value="{{email}}">
              <label for="password">Password</label>
              <input id="password" name="password" type="password" autocomplete="current-password" required>
              <button type="submit" class="primary">Sign in</button>
            </form>
            """,
        "tokens": """
            <h1>Manage Access Tokens</h1>
            {{#secret}}
            <section class="secret card" aria-labelledby="secret-title">
              <h2 id="secret-title">Your new access token</h2>
              <p><strong>Copy it now and keep it somewhere safe: it will not be shown again.</strong></p>
              <label for="secret-value">Token</label>
              <div class="copyrow">
                <input id="secret-value" readonly value="{{secret}}" data-testid="secret">
                <button type="button" id="copy-secret">Copy</button>
              </div>
              <p id="copy-status" role="status" class="muted"></p>
              <script src="/console/static/console.js"></script>
            </section>
            {{/secret}}
            {{#policy}}<p class="notice" data-testid="policy">{{text}}{{#anyOver}} {{over}} older token(s) break this policy and are marked; they keep working until you roll or revoke them.{{/anyOver}}</p>{{/policy}}
            <div class="table-wrap">
            <table>
              <caption>Tokens of {{account}}</caption>
              <thead><tr><th scope="col">Description</th><th scope="col">Type</th><th scope="col">Scopes</th><th scope="col">Hint</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">Last 30 days</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
              <tbody>
              {{#tokens}}
              <tr data-token-id="{{id}}">
                <td><a href="/console/access-tokens/{{id}}">{{description}}</a></td>
                <td><span class="badge {{type}}">{{type}}</span>{{#canary}} <span class="badge canary">canary</span>{{/canary}}{{#disabled}} <span class="badge disabled">disabled</span>{{/disabled}}{{#overPolicy}} <span class="badge over">over policy</span>{{/overPolicy}}{{#restricted}}<br><span class="muted">{{restricted}}</span>{{/restricted}}</td>
                <td><ul class="scopes">{{#scopes}}<li>{{.}}</li>{{/scopes}}</ul></td>
                <td><code>…{{hint}}</code></td>
                <td>{{created}}</td>
                <td>{{lastUsed}}</td>
                <td>{{expires}}</td>
                <td>{{#chart}}{{> chart}}{{/chart}}</td>
                <td class="actions">
                  <a class="button danger" href="/console/access-tokens/{{id}}/revoke">Revoke<span class="sr"> {{description}}</span></a>
                  <form method="post" action="/console/access-tokens/{{id}}/{{toggle}}" class="inline">
                    <input type="hidden" name="_csrf" value="{{csrf}}">
                    <button type="submit">{{toggleLabel}}<span class="sr"> {{description}}</span></button>
                  </form>
                  <form method="post" action="/console/access-tokens/{{id}}/roll" class="inline">
                    <input type="hidden" name="_csrf" value="{{csrf}}">
                    <label for="grace-{{id}}" class="sr">Grace period for the old token</label>
                    <select id="grace-{{id}}" name="grace_seconds">
                      <option value="0">old token stops now</option>
                      <option value="3600">old token works 1 more hour</option>
                      <option value="86400">old token works 1 more day</option>
                      <option value="604800">old token works 7 more days</option>
                    </select>
                    <button type="submit">Roll</button>
                  </form>
                </td>
              </tr>
              {{/tokens}}
              {{^tokens}}<tr><td colspan="9">No active tokens.</td></tr>{{/tokens}}
              </tbody>
            </table>
            </div>
            <section class="card" aria-labelledby="create-title">
              <h2 id="create-title">Create access token</h2>
              <form method="post" action="/console/access-tokens">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="description">Description</label>
                <input id="description" name="description" maxlength="500" value="{{form.description}}">
                <fieldset>
                  <legend>Scopes</legend>
                  <label><input type="checkbox" name="scope" value="ingest"{{#form.ingest}} checked{{/form.ingest}}> ingest: send events</label>
                  <label><input type="checkbox" name="scope" value="query"{{#form.query}} checked{{/form.query}}> query: run endpoints</label>
                  <label><input type="checkbox" name="scope" value="management"{{#form.management}} checked{{/form.management}}> management: everything (private token, keep it on a server)</label>
                </fieldset>
                <label for="ingest-sources">Restrict ingest to these sources (none selected: all)</label>
                <select id="ingest-sources" name="ingest_source" multiple size="4">
                  {{#sources}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/sources}}
                </select>
                <label for="query-endpoints">Restrict query to these endpoints (none selected: all)</label>
                <select id="query-endpoints" name="query_endpoint" multiple size="4">
                  {{#endpoints}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/endpoints}}
                </select>
                <label for="expires">Expires</label>
                <select id="expires" name="expires_in">
                  <option value="">never</option>
                  <option value="86400">in 1 day</option>
                  <option value="604800">in 7 days</option>
                  <option value="2592000">in 30 days</option>
                  <option value="7776000">in 90 days</option>
                </select>
                <label><input type="checkbox" name="canary" value="true"{{#form.canary}} checked{{/form.canary}}> Canary: grants nothing; any use is refused as an unknown token and listed on its page</label>
                <button type="submit" class="primary">Create</button>
              </form>
            </section>
            """,
        "chart": """
            <figure class="chart" data-testid="chart-{{id}}">
              <svg class="chart-svg" viewBox="0 0 {{width}} {{height}}" preserveAspectRatio="none" aria-hidden="true" focusable="false">{{#bars}}{{#drawn}}<rect class="chart-ok" x="{{x}}" y="{{y}}" width="{{barWidth}}" height="{{h}}"></rect>{{/drawn}}{{#limitedDrawn}}<rect class="chart-limited" x="{{x}}" y="{{ly}}" width="{{barWidth}}" height="{{lh}}"></rect>{{/limitedDrawn}}{{/bars}}</svg>
              <figcaption class="muted">{{summary}}</figcaption>
              <table class="sr">
                <caption>{{title}}</caption>
                <thead><tr><th scope="col">{{column}}</th><th scope="col">Requests</th>{{#showLimited}}<th scope="col">Refused by the rate limit</th>{{/showLimited}}</tr></thead>
                <tbody>{{#bars}}<tr><th scope="row">{{label}}</th><td>{{requests}}</td>{{#showLimited}}<td>{{rateLimited}}</td>{{/showLimited}}</tr>{{/bars}}</tbody>
              </table>
            </figure>
            """,
        "token": """
            <p><a href="/console/access-tokens">Access tokens</a></p>
            <h1>{{token.description}} <code>…{{token.hint}}</code></h1>
            <p><span class="badge {{token.type}}">{{token.type}}</span>{{#token.canary}} <span class="badge canary">canary</span>{{/token.canary}}{{#token.disabled}} <span class="badge disabled">disabled</span>{{/token.disabled}}</p>
            {{#hasSuggestions}}
            <section class="card" aria-labelledby="suggestions-title">
              <h2 id="suggestions-title">Least privilege</h2>
              <ul data-testid="suggestions">{{#suggestions}}<li>{{message}}{{#applicable}}
                <form method="post" action="/console/access-tokens/{{id}}/suggestions/apply" class="inline">
                  <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="scopes" value="{{scopes}}">
                  <button type="submit">Restrict to these scopes</button>
                </form>{{/applicable}}{{#revoke}} <a href="/console/access-tokens/{{id}}/revoke">Revoke…</a>{{/revoke}}</li>{{/suggestions}}</ul>
            </section>
            {{/hasSuggestions}}
            {{#showTrips}}
            <section class="card" aria-labelledby="trips-title">
              <h2 id="trips-title">{{#token.canary}}Canary trips{{/token.canary}}{{^token.canary}}Uses after its roll{{/token.canary}}</h2>
              <div class="table-wrap"><table data-testid="trips"><thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Address</th><th scope="col">Route</th><th scope="col">Origin</th><th scope="col">User agent</th></tr></thead>
              <tbody>{{#trips}}<tr><td>{{when}}</td><td>{{what}}</td><td><code>{{address}}</code></td><td><code>{{route}}</code></td><td>{{origin}}</td><td>{{userAgent}}</td></tr>{{/trips}}
              {{^trips}}<tr><td colspan="6">None so far.</td></tr>{{/trips}}</tbody></table></div>
            </section>
            {{/showTrips}}
            <section class="card" aria-labelledby="hourly-title">
              <h2 id="hourly-title">Requests per hour, last 48 hours</h2>
              <div class="wide">{{#hourly}}{{> chart}}{{/hourly}}</div>
            </section>
            <div class="columns">
            <section class="card" aria-labelledby="addresses-title">
              <h2 id="addresses-title">Client addresses, last 24 hours</h2>
              <div class="table-wrap"><table data-testid="addresses"><thead><tr><th scope="col">Address</th><th scope="col">Requests</th></tr></thead>
              <tbody>{{#addresses}}<tr><td>{{#other}}<em>{{value}}</em>{{/other}}{{^other}}<code>{{value}}</code>{{/other}}</td><td>{{requests}}</td></tr>{{/addresses}}
              {{^addresses}}<tr><td colspan="2">No requests yet.</td></tr>{{/addresses}}</tbody></table></div>
            </section>
            <section class="card" aria-labelledby="origins-title">
              <h2 id="origins-title">Web origins, last 24 hours</h2>
              <div class="table-wrap"><table data-testid="origins"><thead><tr><th scope="col">Origin</th><th scope="col">Requests</th></tr></thead>
              <tbody>{{#origins}}<tr><td>{{#other}}<em>{{value}}</em>{{/other}}{{^other}}<code>{{value}}</code>{{/other}}</td><td>{{requests}}</td></tr>{{/origins}}
              {{^origins}}<tr><td colspan="2">No browser requests yet.</td></tr>{{/origins}}</tbody></table></div>
            </section>
            </div>
            <section class="card" aria-labelledby="settings-title">
              <h2 id="settings-title">Settings</h2>
              <dl class="facts">
                <dt>Scopes</dt><dd><ul class="scopes">{{#token.scopes}}<li>{{.}}</li>{{/token.scopes}}</ul></dd>
                <dt>Created</dt><dd>{{token.created}}</dd>
                <dt>Last used</dt><dd>{{token.lastUsed}}</dd>
                <dt>Expires</dt><dd>{{token.expires}}</dd>
                <dt>Rate limit in force</dt><dd data-testid="limit">{{token.limit}}{{token.limitSource}}</dd>
                <dt>Allowed from</dt><dd data-testid="restricted">{{token.restricted}}</dd>
              </dl>
              <form method="post" action="/console/access-tokens/{{token.id}}/settings">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="description">Description</label>
                <input id="description" name="description" maxlength="500" value="{{form.description}}">
                <fieldset>
                  <legend>Rate limit (all empty: none of its own; the account default applies if there is one)</legend>
                  <label for="rps">Requests per second</label>
                  <input id="rps" name="requests_per_second" inputmode="numeric" value="{{form.rps}}">
                  <label for="burst">Burst (requests at once above the rate; empty: one second's worth)</label>
                  <input id="burst" name="burst" inputmode="numeric" value="{{form.burst}}">
                  <label for="eps">Ingest events per second (empty: not limited)</label>
                  <input id="eps" name="events_per_second" inputmode="numeric" value="{{form.eps}}">
                </fieldset>
                <label for="allowed-ips">Allowed client addresses: CIDRs such as 203.0.113.0/24 or 2001:db8::/32, one per line (empty: anywhere)</label>
                <textarea id="allowed-ips" name="allowed_ips" rows="3">{{form.ips}}</textarea>
                <label for="allowed-origins">Allowed web origins: https://app.example.com or https://*.example.com, one per line (empty: any page)</label>
                <textarea id="allowed-origins" name="allowed_origins" rows="3">{{form.origins}}</textarea>
                <label><input type="checkbox" name="require_origin" value="true"{{#form.requireOrigin}} checked{{/form.requireOrigin}}> Refuse requests that carry neither Origin nor Referer (browsers only)</label>
                <p class="muted">An origin list stops other web pages from using a token they copied; a program that is not a browser can send any Origin it likes, so it is no defence against a server-side client.</p>
                <button type="submit" class="primary">Save settings</button>
              </form>
            </section>
            """,
        "revoke": """
            <h1>Revoke access token</h1>
            <section class="card narrow">
              <p>Revoke <strong>{{description}}</strong> (<code>…{{hint}}</code>)?
              Every request that presents it will be refused, on every instance, at once.</p>
              <p><strong>This cannot be undone.</strong></p>
              <form method="post" action="/console/access-tokens/{{id}}/revoke">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <button type="submit" class="danger" id="confirm-revoke">Revoke token</button>
                <a href="/console/access-tokens">Cancel</a>
              </form>
            </section>
            """,
        "sources": """
            <h1>Sources</h1>
            <div class="table-wrap">
            <table>
              <caption>Sources of {{account}}</caption>
              <thead><tr><th scope="col">Name</th><th scope="col">Id</th><th scope="col">Events</th><th scope="col">Newest event</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
              <tbody>
              {{#sources}}
              <tr>
                <td>{{name}}</td><td><code>{{id}}</code></td><td>{{count}}</td><td>{{newest}}</td>
                <td class="actions">
                  <form method="post" action="/console/sources/{{id}}/rename" class="inline">
                    <input type="hidden" name="_csrf" value="{{csrf}}">
                    <label for="rename-{{id}}" class="sr">New name for {{name}}</label>
                    <input id="rename-{{id}}" name="name" value="{{name}}" maxlength="128" required>
                    <button type="submit">Rename</button>
                  </form>
                  <a class="button danger" href="/console/sources/{{id}}/delete">Delete<span class="sr"> {{name}}</span></a>
                </td>
              </tr>
              <tr class="examples"><td colspan="5">
                <details><summary>Send events to {{name}} with curl</summary>
                <pre><code>curl -X POST '{{base}}/api/logs?source={{id}}' \\
              -H 'Authorization: Bearer YOUR_TOKEN' -H 'Content-Type: application/json' \\
              -d '{"message":"hello"}'

            curl -X POST '{{base}}/api/logs?source={{id}}' \\
              -H 'X-API-KEY: YOUR_TOKEN' -H 'Content-Type: application/json' \\
              -d '{"message":"hello"}'

            curl -X POST '{{base}}/api/logs?source={{id}}&amp;api_key=YOUR_TOKEN' \\
              -H 'Content-Type: application/json' -d '{"batch":[{"message":"hello"}]}'</code></pre>
                </details>
              </td></tr>
              {{/sources}}
              {{^sources}}<tr><td colspan="5">No sources yet.</td></tr>{{/sources}}
              </tbody>
            </table>
            </div>
            <section class="card narrow">
              <h2>Create source</h2>
              <form method="post" action="/console/sources">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="source-name">Name</label>
                <input id="source-name" name="name" maxlength="128" required value="{{form.name}}">
                <button type="submit" class="primary">Create</button>
              </form>
            </section>
            """,
        "webhooks": """
            <h1>Webhooks</h1>
            {{#secret}}
            <section class="secret card" aria-labelledby="secret-title">
              <h2 id="secret-title">Your webhook's signing secret</h2>
              <p><strong>Copy it now and keep it with your receiver: it will not be shown again.</strong>
              Each delivery carries <code>Keyflare-Webhook-Signature: v1=&lt;hex HMAC-SHA256 of "timestamp.body"&gt;</code> keyed with it.</p>
              <label for="secret-value">Secret</label>
              <div class="copyrow">
                <input id="secret-value" readonly value="{{secret}}" data-testid="secret">
                <button type="button" id="copy-secret">Copy</button>
              </div>
              <p id="copy-status" role="status" class="muted"></p>
              <script src="/console/static/console.js"></script>
            </section>
            {{/secret}}
            <div class="table-wrap">
            <table>
              <caption>Webhooks of {{account}}</caption>
              <thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Created</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
              <tbody>
              {{#webhooks}}
              <tr>
                <td><code>{{url}}</code></td><td>{{events}}</td><td>{{created}}</td>
                <td class="actions">
                  <a class="button" href="/console/webhooks/{{id}}">Deliveries<span class="sr"> to {{url}}</span></a>
                  <a class="button danger" href="/console/webhooks/{{id}}/delete">Delete<span class="sr"> {{url}}</span></a>
                </td>
              </tr>
              {{/webhooks}}
              {{^webhooks}}<tr><td colspan="4">No webhooks yet.</td></tr>{{/webhooks}}
              </tbody>
            </table>
            </div>
            <section class="card narrow">
              <h2>Create webhook</h2>
              <form method="post" action="/console/webhooks">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="webhook-url">URL (http or https)</label>
                <input id="webhook-url" name="url" type="url" maxlength="2048" required value="{{form.url}}">
                <fieldset>
                  <legend>Events</legend>
                  {{#events}}
                  <label><input type="checkbox" name="events" value="{{name}}"{{#checked}} checked{{/checked}}> <code>{{name}}</code></label>
                  {{/events}}
                </fieldset>
                <button type="submit" class="primary">Create</button>
              </form>
            </section>
            """,
        "webhook": """
            <h1>Deliveries to <code>{{webhook.url}}</code></h1>
            <p>Events: {{webhook.events}}. Created {{webhook.created}}. <a href="/console/webhooks">All webhooks</a></p>
            <div class="table-wrap">
            <table>
              <caption>The last 100 deliveries, newest first</caption>
              <thead><tr><th scope="col">Event</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last answer</th><th scope="col">Last error</th><th scope="col">Enqueued</th><th scope="col">Last attempt</th><th scope="col">Next attempt</th><th scope="col">Delivered</th></tr></thead>
              <tbody>
              {{#deliveries}}
              <tr data-testid="delivery">
                <td><code>{{event}}</code></td><td>{{type}}</td><td>{{status}}</td><td>{{attempts}}</td><td>{{lastStatus}}</td>
                <td>{{lastError}}</td><td>{{created}}</td><td>{{lastAttempt}}</td><td>{{next}}</td><td>{{delivered}}</td>
              </tr>
              {{/deliveries}}
              {{^deliveries}}<tr><td colspan="10">Nothing sent yet.</td></tr>{{/deliveries}}
              </tbody>
            </table>
            </div>
            """,
        "confirm-delete": """
            <h1>Delete {{kind}}</h1>
            <section class="card narrow">
              <p>Delete <strong>{{name}}</strong>{{#warning}} {{warning}}{{/warning}}?</p>
              <p><strong>This cannot be undone.</strong></p>
              <form method="post" action="{{action}}">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <button type="submit" class="danger">Delete</button>
                <a href="{{back}}">Cancel</a>
              </form>
            </section>
            """,
        "endpoints": """
            <h1>Endpoints</h1>
            <div class="table-wrap">
            <table>
              <caption>Endpoints of {{account}}</caption>
              <thead><tr><th scope="col">Name</th><th scope="col">Parameters</th><th scope="col">Auth</th><th scope="col">Max rows</th></tr></thead>
              <tbody>
              {{#endpoints}}
              <tr><td><a href="/console/endpoints/{{id}}">{{name}}</a></td><td>{{params}}</td><td>{{auth}}</td><td>{{maxLimit}}</td></tr>
              {{/endpoints}}
              {{^endpoints}}<tr><td colspan="4">No endpoints yet.</td></tr>{{/endpoints}}
              </tbody>
            </table>
            </div>
            <section class="card">
              <h2>Create endpoint</h2>
              {{> endpoint-form}}
            </section>
            """,
        "endpoint-form": """
            <form method="post" action="{{form.action}}">
              <input type="hidden" name="_csrf" value="{{csrf}}">
              <label for="endpoint-name">Name (letters, digits, . _ -)</label>
              <input id="endpoint-name" name="name" maxlength="128" required value="{{form.name}}">
              <label for="endpoint-description">Description</label>
              <input id="endpoint-description" name="description" maxlength="2000" value="{{form.description}}">
              <label for="endpoint-sql">SQL (sources are tables by name; parameters are @name)</label>
              <textarea id="endpoint-sql" name="sql" rows="6" required spellcheck="false">{{form.sql}}</textarea>
              <label for="endpoint-limit">Max rows</label>
              <input id="endpoint-limit" name="max_limit" type="number" min="1" max="10000" value="{{form.maxLimit}}">
              <label><input type="checkbox" name="enable_auth" value="true"{{#form.enableAuth}} checked{{/form.enableAuth}}> Require a token</label>
              <label><input type="checkbox" name="sandboxable" value="true"{{#form.sandboxable}} checked{{/form.sandboxable}}> Sandboxable: callers may send their own <code>sql</code> over this query's CTEs</label>
              <button type="submit" class="primary">Save</button>
            </form>
            """,
        "endpoint": """
            <h1>Endpoint {{endpoint.name}}</h1>
            <p class="muted">Id <code>{{endpoint.id}}</code> · <code>GET|POST {{base}}/api/endpoints/query/{{endpoint.name}}</code></p>
            <section class="card">
              <h2>Run</h2>
              <form method="post" action="/console/endpoints/{{endpoint.id}}/run">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                {{#params}}
                <label for="param-{{name}}">@{{name}}</label>
                <input id="param-{{name}}" name="param_{{name}}" value="{{value}}">
                {{/params}}
                <button type="submit" class="primary">Run</button>
              </form>
              {{#runError}}<p class="error" role="alert">{{runError}}</p>{{/runError}}
              {{#result}}
              <div class="table-wrap"><table>
                <caption>{{count}} row(s)</caption>
                <thead><tr>{{#columns}}<th scope="col">{{.}}</th>{{/columns}}</tr></thead>
                <tbody>{{#rows}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/rows}}</tbody>
              </table></div>
              {{/result}}
            </section>
            <section class="card">
              <h2>Edit</h2>
              {{> endpoint-form}}
            </section>
            <p><a class="button danger" href="/console/endpoints/{{endpoint.id}}/delete">Delete endpoint</a></p>
            """,
        "problem": """
            <h1>{{heading}}</h1>
            <section class="card narrow">
              <p>{{message}}</p>
              <p><a href="/console/access-tokens">Back to the console</a></p>
            </section>
            """,
    ]
}
