#!/usr/bin/env python3
"""Writes the seed corpus of the otlp-protobuf fuzz target: OTLP ExportLogsServiceRequest bodies,
hand-encoded in the protobuf wire format (no protobuf library needed). Run from the repository root:
    python3 Fuzz/OTLPProtobuf/make-seeds.py
"""
import os
import struct

def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)

def tag(field, wire):
    return varint(field << 3 | wire)

def ld(field, payload):  # length-delimited
    if isinstance(payload, str):
        payload = payload.encode()
    return tag(field, 2) + varint(len(payload)) + payload

def vi(field, n):
    return tag(field, 0) + varint(n)

def f64(field, n):
    return tag(field, 1) + struct.pack("<Q", n)

def f32(field, n):
    return tag(field, 5) + struct.pack("<I", n)

def dbl(field, x):
    return tag(field, 1) + struct.pack("<d", x)

# AnyValue
def s(v): return ld(1, v)
def b(v): return vi(2, 1 if v else 0)
def i(v): return vi(3, v)
def d(v): return dbl(4, v)
def arr(*values): return ld(5, b"".join(ld(1, v) for v in values))
def kvl(**pairs): return ld(6, b"".join(ld(1, kv(k, v)) for k, v in pairs.items()))
def byt(v): return ld(7, v)

def kv(key, value):
    return ld(1, key) + ld(2, value)

def record(time=0, observed=0, sev=0, sev_text=None, body=None, attrs=(), trace=None, span=None, name=None, flags=None):
    out = b""
    if time: out += f64(1, time)
    if sev: out += vi(2, sev)
    if sev_text is not None: out += ld(3, sev_text)
    if body is not None: out += ld(5, body)
    for k, v in attrs: out += ld(6, kv(k, v))
    if flags is not None: out += f32(8, flags)
    if trace is not None: out += ld(9, bytes.fromhex(trace))
    if span is not None: out += ld(10, bytes.fromhex(span))
    if observed: out += f64(11, observed)
    if name is not None: out += ld(12, name)
    return out

def scope_logs(name, version, records, attrs=()):
    scope = ld(1, name) + ld(2, version) + b"".join(ld(3, kv(k, v)) for k, v in attrs)
    return ld(1, scope) + b"".join(ld(2, r) for r in records) + ld(3, "https://opentelemetry.io/schemas/1.24.0")

def resource_logs(attrs, scopes):
    resource = b"".join(ld(1, kv(k, v)) for k, v in attrs)
    return ld(1, resource) + b"".join(ld(2, sl) for sl in scopes)

def request(*resources):
    return b"".join(ld(1, r) for r in resources)

T = 1_700_000_000_000_000_000
TRACE = "5b8efff798038103d269b633813fc60c"
SPAN = "eee19b7ec3c1b174"

collector = request(
    resource_logs(
        [("service.name", s("checkout")), ("service.version", s("1.4.2")), ("host.name", s("web-1")),
         ("process.pid", i(4242))],
        [scope_logs("io.opentelemetry.logback", "2.1.0", [
            record(time=T, observed=T + 5, sev=9, sev_text="INFO", body=s("order placed"),
                   attrs=[("order.id", i(98123)), ("amount", d(12.5)), ("paid", b(True))],
                   trace=TRACE, span=SPAN, flags=1),
            record(observed=T + 1000, sev=17, sev_text="ERROR",
                   body=kvl(error=s("timeout"), retries=i(3), path=arr(s("a"), s("b"), i(-1))),
                   trace=TRACE, span=SPAN, name="payment.failed"),
            record(time=T + 2000, sev=5, sev_text="DEBUG", body=arr(d(float("nan")), d(float("inf")), byt(b"\x00\xffbin"))),
        ])]),
    resource_logs(
        [("service.name", s("worker"))],
        [scope_logs("worker", "", [record(time=T + 3000, body=s("tick \"quoted\" \n line\ttab é ✓ 😀"))],
                    attrs=[("scope.attr", s("x"))])]),
)

seeds = {
    "collector.pb": collector,
    "no-records.pb": request(resource_logs([("service.name", s("idle"))], [])),
    "empty-record.pb": request(ld(2, ld(2, b""))) * 3,
    "truncated.pb": collector[: len(collector) // 2],
    "huge-length.pb": tag(1, 2) + varint(1 << 63) + b"\x00" * 8,
    "group.pb": request(ld(2, ld(2, tag(6, 3) + tag(6, 4)))),
    "not-utf8.pb": request(resource_logs([], [scope_logs("s", "1", [record(body=s(b"\xc3\x28")), record(body=s("ok"))])])),
    "nul.pb": request(resource_logs([("k", s("a\x00b"))], [scope_logs("s", "1", [record(body=s("dropped"))])])),
    "unknown-fields.pb": request(resource_logs([], [scope_logs("s", "1", [
        record(body=s("x")) + vi(100, 7) + f64(101, 1) + ld(102, "skip") + f32(103, 2) + ld(3, b"") + vi(5, 1)])])),
    "deep.pb": request(ld(2, ld(2, ld(5, (lambda v: [v := ld(5, ld(1, v)) for _ in range(60)][-1])(s("bottom")))))),
}

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus", "otlp-protobuf")
os.makedirs(here, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {os.path.normpath(here)}")
