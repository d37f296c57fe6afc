"""Keyflare's benchmark driver: runs one suite against running instances and prints one JSON
object of figures. Started by scripts/bench.sh, which owns the database and the instances.

Every figure is measured next to a reference in the same run, on the same machine; the ratio is
what counts, since these machines are shared and noisy.
"""

import hashlib
import http.client
import json
import os
import random
import re
import secrets
import string
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import psycopg

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
A = os.environ["BENCH_A"]            # host:port of instance A
B = os.environ["BENCH_B"]            # host:port of instance B
DB = os.environ["BENCH_DATABASE_URL"]
TOKEN = os.environ["BENCH_MANAGEMENT_TOKEN"]
SOURCE = os.environ["BENCH_SOURCE_ID"]
ACCOUNT = os.environ["BENCH_ACCOUNT_ID"]
PID_B = int(os.environ["BENCH_PID_B"])
EVENT = {"message": "user signed in", "level": "info", "service": "checkout", "region": "eu-west-1",
         "request_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "user": {"id": 48213, "plan": "pro"},
         "duration_ms": 42.7, "path": "/api/v1/orders/123/confirm", "tags": ["web", "mobile"]}


def base62(number, width):
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits)).rjust(width, "0")


def make_token(kind="pub"):
    head = f"kf_{kind}_" + base62(int.from_bytes(secrets.token_bytes(32), "big"), 43)
    return head + base62(zlib.crc32(head.encode()), 6)


class Client:
    """A keep-alive HTTP/1.1 client."""

    def __init__(self, address):
        host, port = address.split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)

    def request(self, method, path, token=None, body=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-API-KEY"] = token
        self.connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        return response.status, data


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def wrk(address, path, seconds=10, connections=64, script=None, header=None):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if header:
        command += ["-H", header]
    if script:
        command += ["-s", script]
    command.append(f"http://{address}{path}")
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": rate, "p99_ms": float(p99.group(1)) * scale, "non2xx": int(non2xx.group(1)) if non2xx else 0}


def metric_p99(address, name):
    """p99 of a Prometheus histogram, read from /metrics: the upper bound of the first bucket that
    holds 99% of the samples."""
    status, body = Client(address).request("GET", "/metrics")
    buckets = []
    for line in body.decode().splitlines():
        match = re.match(rf'{name}_bucket{{le="([^"]+)"}} (\d+)', line)
        if match:
            bound = float("inf") if match.group(1) == "+Inf" else float(match.group(1))
            buckets.append((bound, int(match.group(2))))
    total = buckets[-1][1] if buckets else 0
    for bound, count in buckets:
        if total and count >= 0.99 * total:
            return bound * 1e6
    return None


def new_token(client, scopes=("ingest",)):
    status, body = client.request("POST", "/api/access-tokens", TOKEN, {"scopes": list(scopes)})
    assert status == 201, (status, body)
    data = json.loads(body)
    return data["id"], data["token"]


def suite_http_auth():
    token = new_token(Client(A))[1]
    Client(A).request("GET", "/api/auth/check", token)
    reference = wrk(A, "/healthz")
    measured = wrk(A, "/api/auth/check", header=f"X-API-KEY: {token}")
    auth_p99 = metric_p99(A, "keyflare_auth_verification_duration_seconds")
    return {
        "http-auth req/s": (measured["rps"], reference["rps"], ">= 0.9 ratio", measured["rps"] / reference["rps"] >= 0.9),
        "http-auth p99 ms": (measured["p99_ms"], reference["p99_ms"], "-", None),
        "in-server auth p99 us": (auth_p99, None, "<= 20", auth_p99 is not None and auth_p99 <= 20),
    }


def suite_rate_limited():
    """The cost of a rate-limited token's check: /api/auth/check with a token limited far above
    what wrk can send (so nothing is refused and only the bucket's cost shows) against an
    unlimited token, in the same run. Target: at most 1.2 times the cost (req/s ratio >= 0.83)."""
    client = Client(A)
    unlimited = new_token(client)[1]
    status, body = client.request(
        "POST", "/api/access-tokens", TOKEN,
        {"scopes": ["ingest"], "rate_limit": {"requests_per_second": 1000000, "burst": 1000000}})
    assert status == 201, (status, body)
    limited = json.loads(body)["token"]
    for token in (unlimited, limited):
        client.request("GET", "/api/auth/check", token)
    reference = wrk(A, "/api/auth/check", header=f"X-API-KEY: {unlimited}")
    measured = wrk(A, "/api/auth/check", header=f"X-API-KEY: {limited}")
    ratio = measured["rps"] / reference["rps"]
    return {
        "rate-limited req/s": (measured["rps"], reference["rps"], ">= 0.83 ratio (cost <= 1.2x)", ratio >= 0.83),
        "rate-limited p99 ms": (measured["p99_ms"], reference["p99_ms"], "-", None),
        "rate-limited refused": (measured["non2xx"], 0, "0", measured["non2xx"] == 0),
    }


def lua_post(body, token):
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write('wrk.method = "POST"\n')
    script.write(f"wrk.body = {json.dumps(json.dumps(body))}\n")
    script.write('wrk.headers["Content-Type"] = "application/json"\n')
    script.write(f'wrk.headers["X-API-KEY"] = "{token}"\n')
    script.close()
    return script.name


def pgbench(sql, seconds=10, clients=64):
    script = tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False)
    script.write(sql)
    script.close()
    output = subprocess.run(
        ["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", script.name, DB],
        capture_output=True, text=True, check=True).stdout
    return float(re.search(r"tps = ([\d.]+)", output).group(1))


def suite_ingest_single():
    token = new_token(Client(A))[1]
    measured = wrk(A, f"/api/logs?source={SOURCE}", script=lua_post(EVENT, token))
    row = json.dumps(EVENT).replace("'", "''")
    reference = pgbench(
        f"INSERT INTO events (account_id, source_id, \"timestamp\", event_message, body) "
        f"VALUES ('{ACCOUNT}', '{SOURCE}', now(), 'user signed in', '{row}');\n")
    return {
        "ingest-single req/s": (measured["rps"], reference, ">= 10000 and >= 0.4 ratio",
                                measured["rps"] >= 10000 and measured["rps"] / reference >= 0.4),
        "ingest-single p99 ms": (measured["p99_ms"], None, "-", None),
        "ingest-single errors": (measured["non2xx"], None, "0", measured["non2xx"] == 0),
    }


def copy_rate(rows):
    lines = [f"{ACCOUNT}\t{SOURCE}\t2026-11-29 00:00:00+00\tuser signed in\t{json.dumps(EVENT)}\n"] * rows
    path = tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False)
    path.writelines(lines)
    path.close()
    start = time.perf_counter()
    subprocess.run(["psql", "-qX", DB, "-c",
                    f"\\copy events (account_id, source_id, \"timestamp\", event_message, body) FROM '{path.name}'"],
                   check=True, capture_output=True)
    return rows / (time.perf_counter() - start)


def suite_ingest_batch():
    token = new_token(Client(A))[1]
    figures = {}
    reference = copy_rate(200_000)
    for size in (100, 1000):
        measured = wrk(A, f"/api/logs?source={SOURCE}", seconds=10, connections=16,
                       script=lua_post({"batch": [EVENT] * size}, token))
        events = measured["rps"] * size
        figures[f"ingest-batch {size} events/s"] = (events, reference, ">= 0.4 ratio", events / reference >= 0.4)
    return figures


def notify_latency(samples=300):
    listener = psycopg.connect(DB, autocommit=True)
    sender = psycopg.connect(DB, autocommit=True)
    listener.execute("LISTEN bench_reference")
    values = []
    for i in range(samples):
        start = time.perf_counter()
        sender.execute("SELECT pg_notify('bench_reference', %s)", (str(i),))
        for _ in listener.notifies(timeout=5, stop_after=1):
            pass
        values.append((time.perf_counter() - start) * 1000)
    return values


def suite_revoke(count=200):
    a, b = Client(A), Client(B)
    tokens = [new_token(a) for _ in range(count)]
    for _, secret in tokens:
        assert b.request("GET", "/api/auth/check", secret)[0] == 200
    latencies = []
    for token_id, secret in tokens:
        status, _ = a.request("DELETE", f"/api/access-tokens/{token_id}", TOKEN)
        assert status == 204
        revoked_at = time.perf_counter()
        while b.request("GET", "/api/auth/check", secret)[0] != 401:
            if time.perf_counter() - revoked_at > 5:
                break
        latencies.append((time.perf_counter() - revoked_at) * 1000)
    reference = notify_latency()
    p99, worst = percentile(latencies, 99), max(latencies)
    return {
        "revoke p50 ms": (percentile(latencies, 50), percentile(reference, 50), "-", None),
        "revoke p99 ms": (p99, percentile(reference, 99), "<= 5", p99 <= 5),
        "revoke max ms": (worst, max(reference), "<= 50", worst <= 50),
    }


def suite_cold_verify(count=300):
    a = Client(A)
    tokens = [new_token(a)[1] for _ in range(count)]
    cold = []
    for secret in tokens:
        start = time.perf_counter()
        assert a.request("GET", "/api/auth/check", secret)[0] == 200
        cold.append((time.perf_counter() - start) * 1000)
    warm = []
    for secret in tokens:
        start = time.perf_counter()
        a.request("GET", "/api/auth/check", secret)
        warm.append((time.perf_counter() - start) * 1000)
    connection = psycopg.connect(DB, autocommit=True)
    rtt = []
    for _ in range(count):
        start = time.perf_counter()
        connection.execute("SELECT 1").fetchone()
        rtt.append((time.perf_counter() - start) * 1000)
    p50 = percentile(cold, 50)
    return {
        "cold-verify p50 ms": (p50, percentile(rtt, 50), "<= 1", p50 <= 1),
        "cold-verify p99 ms": (percentile(cold, 99), percentile(rtt, 99), "-", None),
        "warm check p50 ms (same client)": (percentile(warm, 50), None, "-", None),
    }


def status_mb(pid, field):
    """A memory figure of /proc/<pid>/status (VmRSS: resident now, VmHWM: peak resident), in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mb(pid):
    return status_mb(pid, "VmRSS")


def suite_memory(count=100_000):
    tokens = [make_token() for _ in range(count)]
    with psycopg.connect(DB) as connection, connection.cursor() as cursor:
        with cursor.copy("COPY access_tokens (account_id, scopes, token_hash, hint) FROM STDIN") as copy:
            for token in tokens:
                copy.write_row((ACCOUNT, ["ingest"], hashlib.sha256(token.encode()).digest(), token[-4:]))
    idle = rss_mb(PID_B)
    chunks = [tokens[i::4] for i in range(4)]

    def warm(chunk):
        client = Client(B)
        for token in chunk:
            client.request("GET", "/api/auth/check", token)

    threads = [threading.Thread(target=warm, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Let the usage counts of those 100k requests flush (every 10 s), so that what is left is the
    # cache, not a transient tally.
    time.sleep(11)
    loaded = rss_mb(PID_B)
    growth = loaded - idle
    return {"memory growth MB (100k tokens)": (growth, idle, "<= 64", growth <= 64)}


def peak_mb(pid):
    return status_mb(pid, "VmHWM")


def post_raw(address, path, body, headers):
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    connection.request("POST" if body is not None else "GET", path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    return response.status


def parallel(count, work):
    results = [None] * count

    def run(i):
        results[i] = work()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def suite_abuse():
    """Peak RSS growth of instance B for the worst ingest body and the worst endpoint result, one
    and eight at once; and the p99 of a cached auth check while a flood of unknown tokens arrives,
    against its p99 without the flood."""
    ingest_token = new_token(Client(B))[1]
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    gzip_bomb = compressor.compress(b"[" + b"{}," * ((10 * 1024 * 1024 - 8) // 3) + b"{}]") + compressor.flush()
    headers = {"X-API-KEY": ingest_token, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    path = f"/api/logs?source={SOURCE}"
    base = peak_mb(PID_B)
    assert post_raw(B, path, gzip_bomb, headers) == 413
    one_ingest = peak_mb(PID_B) - base
    statuses = parallel(8, lambda: post_raw(B, path, gzip_bomb, headers))
    assert all(status == 413 for status in statuses), statuses
    eight_ingest = peak_mb(PID_B) - base

    client = Client(B)
    status, body = client.request("POST", "/api/endpoints", TOKEN, {
        "name": f"abuse-{secrets.token_hex(4)}", "sql": "select repeat('x', 50000000) as big", "max_limit": 1})
    assert status == 201, (status, body)
    endpoint = json.loads(body)["id"]
    query_headers = {"X-API-KEY": TOKEN}
    base = peak_mb(PID_B)
    assert post_raw(B, f"/api/endpoints/query/{endpoint}", None, query_headers) == 413
    one_query = peak_mb(PID_B) - base
    statuses = parallel(8, lambda: post_raw(B, f"/api/endpoints/query/{endpoint}", None, query_headers))
    assert all(status == 413 for status in statuses), statuses
    eight_query = peak_mb(PID_B) - base

    # A cached token's p99 alone, then while 50,000 unknown well-formed tokens arrive from the same
    # address (most of them answered 429 by the per-address failure limit).
    check_token = new_token(Client(A))[1]
    Client(A).request("GET", "/api/auth/check", check_token)
    quiet = wrk(A, "/api/auth/check", seconds=8, connections=16, header=f"X-API-KEY: {check_token}")
    flooding = threading.Event()

    def flood():
        flood_client = Client(A)
        sent = 0
        while not flooding.is_set() and sent < 12_500:
            flood_client.request("GET", "/api/auth/check", make_token())
            sent += 1

    flooders = [threading.Thread(target=flood) for _ in range(4)]
    for thread in flooders:
        thread.start()
    loud = wrk(A, "/api/auth/check", seconds=8, connections=16, header=f"X-API-KEY: {check_token}")
    flooding.set()
    for thread in flooders:
        thread.join()
    ratio = loud["p99_ms"] / quiet["p99_ms"] if quiet["p99_ms"] else None
    return {
        "abuse: worst ingest, peak RSS growth MB": (one_ingest, None, "< 64", one_ingest < 64),
        "abuse: worst ingest x8, peak RSS growth MB": (eight_ingest, None, "< 256", eight_ingest < 256),
        "abuse: worst endpoint result, peak RSS growth MB": (one_query, None, "< 64", one_query < 64),
        "abuse: worst endpoint result x8, peak RSS growth MB": (eight_query, None, "< 256", eight_query < 256),
        "abuse: cached auth p99 ms under a 50k unknown-token flood": (loud["p99_ms"], quiet["p99_ms"], "<= 2x", ratio is not None and ratio <= 2),
    }


def endpoint_p50(client, endpoint, samples):
    """p50 in ms of running an endpoint over HTTP, after 20 warm-up runs."""
    for _ in range(20):
        client.request("GET", f"/api/endpoints/query/{endpoint}", TOKEN)
    elapsed = []
    for _ in range(samples):
        start = time.perf_counter()
        status, _ = client.request("GET", f"/api/endpoints/query/{endpoint}", TOKEN)
        elapsed.append((time.perf_counter() - start) * 1000)
        assert status == 200
    return percentile(elapsed, 50)


def suite_endpoint_latest(events=1_000_000, samples=200):
    """The most common log query, the latest 10 events of a source, over HTTP: a source of a million
    events against a source of one, through the same sandbox (row-level security, plain views)."""
    client = Client(A)
    names = {}
    for label in ("big", "small"):
        name = f"latest-{label}-{secrets.token_hex(3)}"
        status, body = client.request("POST", "/api/sources", TOKEN, {"name": name})
        assert status == 201, (status, body)
        names[label] = (name, json.loads(body)["id"])
    with psycopg.connect(DB, autocommit=True) as connection:
        connection.execute(
            """INSERT INTO events (account_id, source_id, "timestamp", event_message, body)
               SELECT %s, %s, now() - make_interval(secs => n), 'event ' || n,
                      jsonb_build_object('level', CASE WHEN n %% 50 = 0 THEN 'warn' ELSE 'info' END)
               FROM generate_series(1, %s) AS n""", (ACCOUNT, names["big"][1], events))
        connection.execute(
            """INSERT INTO events (account_id, source_id, "timestamp", event_message, body)
               VALUES (%s, %s, now(), 'only', '{"level": "warn"}')""", (ACCOUNT, names["small"][1]))
        connection.execute("ANALYZE events")
    timings = {}
    for label, (name, _) in names.items():
        status, body = client.request("POST", "/api/endpoints", TOKEN, {
            "name": f"latest-{label}-{secrets.token_hex(3)}",
            "sql": f'select event_message from "{name}" order by "timestamp" desc limit 10'})
        assert status == 201, (status, body)
        timings[label] = endpoint_p50(client, json.loads(body)["id"], samples)
    ratio = timings["big"] / timings["small"]
    return {
        "endpoint-latest: latest 10 of 1M events, p50 ms": (timings["big"], timings["small"], "<= 3x", ratio <= 3),
    }


def suite_sandbox_sources(sources=10_000, samples=200):
    """A one-source endpoint's p50 over HTTP in the bench account, before and after the account gets
    10,000 more sources: a run opens views only for the sources its statement names."""
    client = Client(A)
    name = f"named-{secrets.token_hex(3)}"
    status, body = client.request("POST", "/api/sources", TOKEN, {"name": name})
    assert status == 201, (status, body)
    status, body = client.request("POST", "/api/endpoints", TOKEN, {
        "name": f"one-source-{secrets.token_hex(3)}", "sql": f'select count(*) as n from "{name}"'})
    assert status == 201, (status, body)
    endpoint = json.loads(body)["id"]
    few = endpoint_p50(client, endpoint, samples)
    with psycopg.connect(DB, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO sources (account_id, name) SELECT %s, 'many-' || n FROM generate_series(1, %s) AS n",
            (ACCOUNT, sources))
    many = endpoint_p50(client, endpoint, samples)
    ratio = many / few
    return {"sandbox-sources: one-source endpoint p50 ms, account with 10,000 more sources": (many, few, "<= 2x", ratio <= 2)}


def suite_soak(seconds=180):
    """Mixed traffic at a fixed, moderate rate, with one revocation a second: no 5xx, no request
    accepted with a token more than 50 ms after its revoke returned, RSS stable."""
    a = Client(A)
    status, body = a.request("POST", "/api/endpoints", TOKEN, {
        "name": f"soak-{secrets.token_hex(3)}",
        "sql": "select event_message from \"bench\" where body->>'level' = @level order by \"timestamp\" desc limit 10"})
    endpoint = json.loads(body)["id"] if status == 201 else None
    stop = time.monotonic() + seconds
    errors = {"5xx": 0, "late_accept": 0, "requests": 0}
    lock = threading.Lock()
    revoked = {}  # secret -> monotonic time its revoke returned
    pool = [new_token(a, ("ingest", "query")) for _ in range(40)]
    live = list(pool)

    def worker(address):
        client = Client(address)
        while time.monotonic() < stop:
            with lock:
                token_id, secret = random.choice(live) if live else pool[0]
            choice = random.random()
            started = time.monotonic()
            if choice < 0.5:
                status, _ = client.request("POST", f"/api/logs?source={SOURCE}", secret, EVENT)
            elif choice < 0.8 or endpoint is None:
                status, _ = client.request("GET", "/api/auth/check", secret)
            else:
                status, _ = client.request("GET", f"/api/endpoints/query/{endpoint}?level=info", secret)
            with lock:
                errors["requests"] += 1
                if status >= 500:
                    errors["5xx"] += 1
                # A request sent more than 50 ms after its token's revoke returned must be refused.
                if status < 300 and secret in revoked and started - revoked[secret] > 0.05:
                    errors["late_accept"] += 1
            time.sleep(0.002)

    def revoker():
        client = Client(A)
        while time.monotonic() < stop:
            time.sleep(1)
            with lock:
                if len(live) <= 5:
                    live.extend([new_token(client, ("ingest", "query")) for _ in range(10)])
                token_id, secret = live.pop(random.randrange(len(live)))
            status, _ = client.request("DELETE", f"/api/access-tokens/{token_id}", TOKEN)
            with lock:
                revoked[secret] = time.monotonic()

    samples = []

    def sampler():
        while time.monotonic() < stop:
            samples.append((time.monotonic(), rss_mb(PID_B)))
            time.sleep(5)

    threads = [threading.Thread(target=worker, args=(address,)) for address in (A, B, A, B)]
    threads += [threading.Thread(target=revoker), threading.Thread(target=sampler)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    last_minute = [rss for at, rss in samples if at >= stop - 60]
    growth = (last_minute[-1] - last_minute[0]) / last_minute[0] * 100 if len(last_minute) > 1 else 0
    return {
        "soak requests": (errors["requests"], None, "-", None),
        "soak 5xx": (errors["5xx"], None, "0", errors["5xx"] == 0),
        "soak late accepts": (errors["late_accept"], None, "0", errors["late_accept"] == 0),
        "soak RSS growth last minute %": (growth, None, "< 5", growth < 5),
    }


SUITES = {
    "http-auth": suite_http_auth, "ingest-single": suite_ingest_single, "ingest-batch": suite_ingest_batch,
    "revoke": suite_revoke, "cold-verify": suite_cold_verify, "memory": suite_memory, "soak": suite_soak,
    "abuse": suite_abuse, "endpoint-latest": suite_endpoint_latest, "sandbox-sources": suite_sandbox_sources,
    "rate-limited": suite_rate_limited,
}

if __name__ == "__main__":
    figures = SUITES[sys.argv[1]]()
    print(json.dumps({name: {"value": v, "reference": r, "target": t, "pass": p} for name, (v, r, t, p) in figures.items()}))
