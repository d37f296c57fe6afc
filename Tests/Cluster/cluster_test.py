#!/usr/bin/env python3
"""Fault scenarios against the cluster started by scripts/cluster.sh (HAProxy, three Keyflare
instances, PgBouncer in transaction mode, one PostgreSQL). One verdict line per scenario; the exit
status is non-zero when any scenario fails.

    python3 Tests/Cluster/cluster_test.py CLUSTER_DIR
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

DIR = sys.argv[1]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATE = {}
with open(os.path.join(DIR, "cluster.env")) as f:
    for line in f:
        key, _, value = line.strip().partition("=")
        STATE[key] = value
LB = int(STATE["LB_PORT"])
INSTANCES = {n: int(STATE[f"KF_PORT_{n}"]) for n in (1, 2, 3)}
REQUEST_TIMEOUT = 10.0


class Client:
    """One keep-alive HTTP/1.1 connection; reconnects after any error."""

    def __init__(self, port, timeout=REQUEST_TIMEOUT):
        self.port, self.timeout, self.conn = port, timeout, None

    def request(self, method, path, token=None, body=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-API-KEY"] = token
        data = json.dumps(body).encode() if body is not None else None
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            text = response.read().decode()
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, text
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return None, f"{type(error).__name__}: {error}"

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def psql(sql):
    out = subprocess.run(["psql", "-qtAX", STATE["DIRECT_URL"], "-c", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def pid(n):
    with open(os.path.join(DIR, f"kf-{n}.pid")) as f:
        return int(f.read())


def alive(process_id):
    try:
        os.kill(process_id, 0)
    except ProcessLookupError:
        return False
    # A zombie (our own child, not yet reaped) counts as gone.
    try:
        with open(f"/proc/{process_id}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def start_instance(n):
    subprocess.run([os.path.join(ROOT, "scripts/cluster.sh"), "start-instance", DIR, str(n)], check=True)


def haproxy_states():
    """Server name -> operational state (2 = up) from HAProxy's admin socket."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.path.join(DIR, "haproxy.sock"))
    s.sendall(b"show servers state instances\n")
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    states = {}
    for line in data.decode().splitlines():
        parts = line.split()
        if len(parts) > 5 and parts[3].startswith("kf"):
            states[parts[3]] = int(parts[5])
    return states


def wait_until(condition, timeout, every=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def wait_balanced(n, timeout=30):
    return wait_until(lambda: haproxy_states().get(f"kf{n}") == 2, timeout)


# --- set-up: an account (through the CLI, straight to PostgreSQL), a source, an ingest token ---
env = dict(os.environ, KEYFLARE_DATABASE_URL=STATE["DIRECT_URL"], KEYFLARE_LOG_LEVEL="warning")
created = subprocess.run(
    [STATE["BIN"], "account", "create", "--name", "Cluster", "--email", f"cluster-{uuid.uuid4().hex[:8]}@keyflare.test"],
    env=env, check=True, capture_output=True, text=True, input="",
)
MANAGEMENT = json.loads(created.stdout)["management_token"]
lb = Client(LB)
SOURCE_NAME = f"cluster-{uuid.uuid4().hex[:8]}"
status, body = lb.request("POST", "/api/sources", MANAGEMENT, {"name": SOURCE_NAME})
assert status == 201, (status, body)
SOURCE = json.loads(body)["id"]
status, body = lb.request("POST", "/api/access-tokens", MANAGEMENT, {"scopes": ["ingest"], "description": "cluster load"})
assert status == 201, (status, body)
INGEST = json.loads(body)["token"]

results = []


def verdict(name, ok, detail):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}", flush=True)


class Load:
    """Ingest through the balancer from several threads, each request a batch of marked events."""

    def __init__(self, run, threads=6, batch=5):
        self.run, self.threads, self.batch = run, threads, batch
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked, self.failures, self.latencies, self.requests = [], [], [], 0
        self.workers = [threading.Thread(target=self.worker, args=(i,)) for i in range(threads)]

    def worker(self, index):
        client, seq = Client(LB), 0
        while not self.stop.is_set():
            marks = [f"{index}-{seq + i}" for i in range(self.batch)]
            seq += self.batch
            events = [{"message": f"cluster {m}", "run": self.run, "mark": m} for m in marks]
            started = time.monotonic()
            status, text = client.request("POST", f"/api/logs?source={SOURCE}", INGEST, {"batch": events})
            elapsed = time.monotonic() - started
            with self.lock:
                self.requests += 1
                self.latencies.append(elapsed)
                if status == 200:
                    self.acked.extend(marks)
                else:
                    self.failures.append((status, text[:120]))

    def __enter__(self):
        for w in self.workers:
            w.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for w in self.workers:
            w.join()

    def duplicates(self):
        return int(psql(
            f"SELECT count(*) - count(DISTINCT body->>'mark') FROM events "
            f"WHERE source_id = '{SOURCE}' AND body->>'run' = '{self.run}'"
        ))

    def stored(self):
        rows = psql(f"SELECT body->>'mark' FROM events WHERE source_id = '{SOURCE}' AND body->>'run' = '{self.run}'")
        return set(rows.splitlines())


def kill_under_load():
    with Load("kill") as load:
        time.sleep(2)
        victim = pid(2)
        os.kill(victim, signal.SIGKILL)
        killed = wait_until(lambda: not alive(victim), 2)
        time.sleep(5)
    stored = load.stored()
    missing = [m for m in load.acked if m not in stored]
    slowest = max(load.latencies)
    hung = sum(1 for s, t in load.failures if s is None and "timed out" in t)
    duplicates = load.duplicates()
    ok = killed and not missing and not duplicates and slowest < REQUEST_TIMEOUT and hung == 0 and len(load.acked) > 0
    statuses = sorted({str(s) if s else t.split(":")[0] for s, t in load.failures})
    verdict(
        "kill under load",
        ok,
        f"instance 2 {'killed' if killed else 'STILL RUNNING'} 2 s in; "
        f"{load.requests} requests, {len(load.acked) // load.batch} answered 200 ({len(load.acked)} events), "
        f"{len(missing)} of those events missing from the database ({len(stored)} stored, {duplicates} twice); "
        f"{len(load.failures)} failed {statuses if statuses else ''}; slowest {slowest:.2f} s",
    )
    start_instance(2)
    wait_balanced(2)


def rolling_restart():
    timings = []
    with Load("rolling") as load:
        time.sleep(1)
        for n in (1, 2, 3):
            started = time.monotonic()
            process = pid(n)
            os.kill(process, signal.SIGTERM)
            if not wait_until(lambda: not alive(process), 30):
                break
            start_instance(n)
            wait_balanced(n)
            timings.append(time.monotonic() - started)
        time.sleep(1)
    stored = load.stored()
    missing = [m for m in load.acked if m not in stored]
    ok = not load.failures and not missing and len(timings) == 3
    detail = (
        f"{load.requests} requests, {len(load.failures)} failed, {len(missing)} acknowledged events missing; "
        f"each instance out and back in {', '.join(f'{t:.1f}' for t in timings)} s"
    )
    if load.failures:
        detail += f"; first failure {load.failures[0]}"
    verdict("rolling restart", ok, detail)


def revoke_latency(rounds=5):
    """Worst time, over `rounds` tokens, from the DELETE's response until every instance says 401."""
    worst, admin = 0.0, Client(LB)
    for _ in range(rounds):
        status, body = admin.request("POST", "/api/access-tokens", MANAGEMENT, {"scopes": ["ingest"]})
        assert status == 201, (status, body)
        token, token_id = json.loads(body)["token"], json.loads(body)["id"]
        pollers = {n: Client(port) for n, port in INSTANCES.items()}
        for n, client in pollers.items():  # warm every instance's cache
            assert wait_until(lambda: client.request("GET", "/api/auth/check", token)[0] == 200, 10), n
        revoked_at, seen = [None], {}
        done = threading.Event()

        def poll(n, client):
            while not done.is_set():
                status, _ = client.request("GET", "/api/auth/check", token)
                if status == 401:
                    seen[n] = time.monotonic()
                    return
                time.sleep(0.001)

        threads = [threading.Thread(target=poll, args=item) for item in pollers.items()]
        for t in threads:
            t.start()
        status, _ = admin.request("DELETE", f"/api/access-tokens/{token_id}", MANAGEMENT)
        revoked_at[0] = time.monotonic()
        assert status in (200, 204), status
        for t in threads:
            t.join(timeout=5)
        done.set()
        if len(seen) < len(pollers):
            return None
        worst = max(worst, max(max(0.0, at - revoked_at[0]) for at in seen.values()))
    return worst


def revoke_through_balancer():
    worst = revoke_latency()
    ok = worst is not None and worst < 0.1
    verdict(
        "revoke through the balancer",
        ok,
        "an instance still accepted a revoked token after 5 s" if worst is None
        else f"all three instances rejected each of 5 revoked tokens within {worst * 1000:.1f} ms of the DELETE's answer",
    )


def paced(token, rate, seconds, threads=8):
    """Sends GET /api/auth/check through the balancer at `rate` requests a second in total for
    `seconds`; returns (sent, accepted, limited, other) counts."""
    counts = {"sent": 0, "ok": 0, "limited": 0, "other": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker():
        client = Client(LB)
        interval = threads / rate
        next_at = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            if next_at > now:
                time.sleep(next_at - now)
            next_at = max(next_at + interval, time.monotonic() - interval)
            status, _ = client.request("GET", "/api/auth/check", token)
            with lock:
                counts["sent"] += 1
                key = "ok" if status == 200 else "limited" if status == 429 else "other"
                counts[key] += 1
        client.close()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return counts


def rate_limit_through_balancer():
    """A token limited to 200 requests a second (burst 50), three instances behind HAProxy: a client sending
    about 1,000 a second gets 180 to 230 a second through (averaged over 10 s), and a client at
    150 a second is never refused."""
    admin = Client(LB)
    status, body = admin.request(
        "POST", "/api/access-tokens", MANAGEMENT,
        {"scopes": ["ingest"], "description": "rate limited", "rate_limit": {"requests_per_second": 200, "burst": 50}})
    if status != 201:
        verdict("rate limit through the balancer", False, f"create answered {status}: {body[:200]}")
        return
    token = json.loads(body)["token"]
    flood = paced(token, 1000, 10, threads=12)
    per_second = flood["ok"] / 10
    time.sleep(2)
    calm = paced(token, 150, 5, threads=4)
    ok = 180 <= per_second <= 230 and flood["other"] == 0 and calm["limited"] == 0 and calm["other"] == 0
    verdict(
        "rate limit through the balancer",
        ok,
        f"at {flood['sent'] / 10:.0f} req/s sent: {per_second:.1f} accepted a second (limit 200, burst 50), {flood['limited']} refused, "
        f"{flood['other']} other; at {calm['sent'] / 5:.0f} req/s: {calm['limited']} refused",
    )


def allow_lists_through_balancer():
    """allowed_ips and allowed_origins through HAProxy (which appends the client to X-Forwarded-For,
    and is a trusted proxy here), and straight to an instance."""
    admin = Client(LB)
    status, body = admin.request(
        "POST", "/api/access-tokens", MANAGEMENT,
        {"scopes": ["ingest"], "allowed_ips": ["203.0.113.0/24"], "allowed_origins": ["https://app.example.com"]})
    if status != 201:
        verdict("allow-lists through the balancer", False, f"create answered {status}: {body[:200]}")
        return
    token = json.loads(body)["token"]

    def check(port, headers):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        connection.request("GET", "/api/auth/check", headers={"X-API-KEY": token, **headers})
        response = connection.getresponse()
        text = response.read().decode()
        allow = response.getheader("Access-Control-Allow-Origin")
        connection.close()
        return response.status, text, allow

    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    results_ = {
        "forwarded from an allowed network": check(LB, forwarded),
        "forwarded from elsewhere": check(LB, {"X-Forwarded-For": "198.51.100.7"}),
        "loopback, not forwarded": check(LB, {}),
        "allowed origin": check(LB, {**forwarded, "Origin": "https://app.example.com"}),
        "other origin": check(LB, {**forwarded, "Origin": "https://evil.example"}),
        # Straight to an instance, the peer is 127.0.0.1, which is trusted here: its header counts.
        "direct, forwarded": check(INSTANCES[1], forwarded),
    }
    expected = {
        "forwarded from an allowed network": 200, "forwarded from elsewhere": 403, "loopback, not forwarded": 403,
        "allowed origin": 200, "other origin": 403, "direct, forwarded": 200,
    }
    ok = all(results_[k][0] == v for k, v in expected.items())
    ok = ok and "198.51.100.7" in results_["forwarded from elsewhere"][1]
    ok = ok and results_["allowed origin"][2] == "https://app.example.com" and results_["other origin"][2] == "https://app.example.com"
    verdict(
        "allow-lists through the balancer", ok,
        ", ".join(f"{k}: {v[0]}" for k, v in results_.items()),
    )


def database_restart():
    started = time.monotonic()
    subprocess.run([os.path.join(ROOT, "scripts/cluster.sh"), "restart-db", DIR], check=True)
    restarted = time.monotonic()

    def all_up():
        for port in INSTANCES.values():
            status, text = Client(port, timeout=2).request("GET", "/readyz")
            if status != 200 or json.loads(text).get("listener") != "up":
                return False
        return True

    def listeners_back():
        # Every instance's LISTEN session is a new one, opened after the restart.
        count = psql(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'keyflare-listener-%' "
            f"AND backend_start > now() - interval '{time.monotonic() - started + 1:.1f} seconds'"
        )
        return int(count) == len(INSTANCES)

    recovered = wait_until(lambda: all_up() and listeners_back(), 60, every=0.2)
    recovery = time.monotonic() - restarted
    # /readyz was 503 while PostgreSQL was down, so the balancer took the instances out; they are
    # back after two passing checks.
    balanced = recovered and all(wait_balanced(n) for n in INSTANCES)
    rebalanced = time.monotonic() - restarted
    same_pids = all(alive(pid(n)) for n in INSTANCES)
    worst = revoke_latency(rounds=2) if balanced else None
    ok = recovered and balanced and same_pids and worst is not None and worst < 0.1
    verdict(
        "database restart",
        ok,
        f"restart took {restarted - started:.1f} s; all three instances ready, listener up on a new session, "
        f"{recovery:.1f} s later without restarting ({'same' if same_pids else 'CHANGED'} processes), "
        f"all back in the balancer after {rebalanced:.1f} s; "
        + (f"revocation reaches all three again within {worst * 1000:.1f} ms" if worst is not None else "revocation did not propagate"),
    )


def endpoint_through_pgbouncer():
    """The endpoint sandbox logs in as a per-account role; PgBouncer must let it through."""
    sql = f'select count(*) as n from "{SOURCE_NAME}"'
    lb = Client(LB)  # a fresh connection: the set-up's one has idled past the balancer's keep-alive
    status, body = lb.request("POST", "/api/endpoints", MANAGEMENT, {"name": "cluster-count", "sql": sql})
    if status != 201:
        verdict("endpoint query through PgBouncer", False, f"creating the endpoint answered {status}: {body[:200]}")
        return
    endpoint = json.loads(body)["id"]
    status, body = lb.request("GET", f"/api/endpoints/query/{endpoint}", MANAGEMENT)
    verdict("endpoint query through PgBouncer", status == 200, f"answered {status}: {body[:120]}")


for scenario in (
    kill_under_load, rolling_restart, revoke_through_balancer, rate_limit_through_balancer, allow_lists_through_balancer,
    database_restart,
    endpoint_through_pgbouncer,
):
    try:
        scenario()
    except Exception as error:  # a scenario that crashes is a failed scenario, and the rest still run
        verdict(scenario.__name__.replace("_", " "), False, f"{type(error).__name__}: {error}")

print(f"cluster: {sum(results)} of {len(results)} scenarios passed", flush=True)
sys.exit(0 if all(results) else 1)
