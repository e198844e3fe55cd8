#!/usr/bin/env python3
"""A model of AWS's timing and request limits, as an HTTP proxy in front of
LocalStack (127.0.0.1 only), for benchmarks. Standard library only.

  serve:          python3 aws-model-proxy.py serve --port P --upstream URL
                      [--buckets] [--scale F] [--call-latency S] [--read-latency S]
  critical path:  python3 aws-model-proxy.py critical-path --scale F [--call-latency S] < graph.dot

In `serve` mode every request is forwarded to the upstream and answered.
  --buckets       enforces AWS's published request token buckets per
                  account (EC2 mutating 50 / 5 per s and Describe 100 / 20,
                  ELBv2 40 / 10, ECS RegisterTaskDefinition 20 / 1, ...:
                  BUCKETS below); a call over its bucket is answered with the
                  service's own throttling error, in its protocol, and not
                  forwarded.
  --scale F       answers each mutating call no sooner than its modelled
                  AWS latency times F after it arrived: the creation of a NAT gateway, a load
                  balancer, an RDS instance, an ECS service reaching steady
                  state... as published (SLOW_CALLS), every other mutating
                  call --call-latency seconds, reads --read-latency; and
                  ACM answers a certificate as pending validation until
                  its modelled validation time has passed (ACM_VALIDATION).
GET /__proxy/stats answers what the proxy saw (calls, throttled calls per
bucket, the first and last mutating call); POST /__proxy/reset forgets it.

`critical-path` reads `stackd graph` (DOT) and prints the critical path of
the spec's resources under the same model, at one modelled call per
resource: the lower bound an apply's makespan is compared with.

These figures are a model, written from AWS's documentation; they are
printed by the benchmark, never asserted in timed tests.
"""

import argparse
import http.client
import http.server
import json
import re
import sys
import threading
import time
import urllib.parse

# Published request token buckets (burst, refill per second), per account
# and region, by `service:class` or `service:Operation`.
BUCKETS = {
    # Amazon EC2 API request throttling.
    "ec2:read": (100, 20),
    "ec2:write": (50, 5),
    # Elastic Load Balancing: Describe* 40 / 10 per account.
    "elasticloadbalancing:read": (40, 10),
    "elasticloadbalancing:write": (20, 5),
    # Amazon ECS.
    "ecs:RegisterTaskDefinition": (20, 1),
    "ecs:read": (50, 20),
    "ecs:write": (20, 5),
    # IAM (unpublished; what accounts see).
    "iam:read": (40, 15),
    "iam:write": (20, 8),
    # CloudWatch Logs: CreateLogGroup / PutRetentionPolicy 5 TPS,
    # DescribeLogGroups 10 TPS.
    "logs:read": (10, 10),
    "logs:write": (5, 5),
    # Parameter Store (standard throughput).
    "ssm:GetParameters": (40, 40),
    "ssm:GetParameter": (40, 40),
    "ssm:read": (10, 10),
    "ssm:write": (3, 3),
    # S3 objects per prefix; bucket configuration lower.
    "s3:object-read": (5500, 5500),
    "s3:object-write": (3500, 3500),
    "s3:read": (100, 50),
    "s3:write": (50, 20),
    # Any other service, each its own bucket.
    "*:read": (50, 20),
    "*:write": (20, 5),
}

# Calls whose answer stands for a long wait on AWS (seconds): the object
# becoming usable (NAT gateway available, load balancer active, DB instance
# available, ECS service steady), as published and seen in deployments.
# The resource type each creates is given for the critical path.
SLOW_CALLS = {
    "CreateNatGateway": ("aws_nat_gateway", 120),
    "CreateLoadBalancer": ("aws_lb", 180),
    "CreateDBInstance": ("aws_db_instance", 600),
    "CreateService": ("aws_ecs_service", 120),
    "CreateVpcEndpoint": ("aws_vpc_endpoint", 90),
    "ChangeResourceRecordSets": ("aws_route53_record", 45),
    "CreateHostedZone": ("aws_route53_zone", 30),
    "CreatePrivateDnsNamespace": ("aws_service_discovery_private_dns_namespace", 60),
    "CreateAutoScalingGroup": ("aws_autoscaling_group", 90),
    "RunInstances": ("aws_instance", 45),
    "DeleteNatGateway": (None, 60),
    "DeleteDBInstance": (None, 300),
    "DeleteService": (None, 60),
}
SLOW_TYPES = {t: s for (t, s) in SLOW_CALLS.values() if t}

# ACM issues a DNS-validated certificate a while after it was requested
# (once its validation record resolves): DescribeCertificate answers
# PENDING_VALIDATION until the requested time plus this, scaled. The
# validation resource waits for it; it weighs this on the critical path,
# less the one call (the validation record's) between the two.
ACM_VALIDATION = ("aws_acm_certificate_validation", 120)

READ_PREFIXES = ("Describe", "Get", "List", "Head", "BatchGet", "Lookup", "Search", "Query", "Select")


def is_read(operation):
    if " " in operation:  # REST: "GET /bucket"
        return operation.split(" ", 1)[0] in ("GET", "HEAD")
    return operation.startswith(READ_PREFIXES)


class Bucket:
    def __init__(self, burst, rate):
        self.burst, self.rate = float(burst), float(rate)
        self.tokens, self.at = float(burst), time.monotonic()

    def take(self):
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def bucket_key(service, operation):
    if service == "s3" and " " in operation:
        # "PUT /bucket/key": an object; "PUT /bucket": the bucket's settings.
        parts = operation.split(" ", 1)[1].strip("/").split("/", 1)
        if len(parts) == 2 and parts[1]:
            key = "s3:object-read" if is_read(operation) else "s3:object-write"
            return key, BUCKETS[key]
    if f"{service}:{operation}" in BUCKETS:
        return f"{service}:{operation}", BUCKETS[f"{service}:{operation}"]
    cls = "read" if is_read(operation) else "write"
    return f"{service}:{cls}", BUCKETS.get(f"{service}:{cls}", BUCKETS[f"*:{cls}"])


def throttle_answer(service, protocol):
    """The service's own throttling error, in its protocol."""
    if service == "ec2":
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
                "<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
                "</Error></Errors><RequestID>model-proxy</RequestID></Response>")
        return 503, "text/xml", body, {}
    if protocol == "query":
        body = ("<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                "<Message>Rate exceeded</Message></Error><RequestId>model-proxy</RequestId></ErrorResponse>")
        return 400, "text/xml", body, {}
    if protocol == "json":
        return 400, "application/x-amz-json-1.1", json.dumps(
            {"__type": "ThrottlingException", "message": "Rate exceeded"}), {}
    if service == "s3":
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>"
                "<Message>Please reduce your request rate.</Message></Error>")
        return 503, "application/xml", body, {}
    return 429, "application/json", json.dumps({"message": "Rate exceeded"}), {
        "x-amzn-ErrorType": "TooManyRequestsException"}


class Model:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.buckets = {}
            self.calls = 0
            self.throttled = {}
            self.per_bucket = {}
            self.first_write = None
            self.last_write = None
            self.writes = 0
            self.upstream_max = 0.0
            self.upstream_sum = 0.0
            self.issued_at = {}

    def admit(self, service, operation):
        with self.lock:
            self.calls += 1
            key, (burst, rate) = bucket_key(service, operation)
            self.per_bucket[key] = self.per_bucket.get(key, 0) + 1
            if not self.args.buckets:
                return True
            b = self.buckets.setdefault(key, Bucket(burst, rate))
            if b.take():
                return True
            self.throttled[key] = self.throttled.get(key, 0) + 1
            return False

    def delay(self, operation):
        if is_read(operation):
            return self.args.read_latency
        slow = SLOW_CALLS.get(operation)
        if slow:
            return slow[1] * self.args.scale
        return self.args.call_latency

    def certificate(self, operation, request, answer):
        """The ACM validation model: the answer, rewritten while the
        certificate is modelled as still pending."""
        if self.args.scale <= 0 or operation not in ("RequestCertificate", "DescribeCertificate"):
            return answer
        try:
            if operation == "RequestCertificate":
                arn = json.loads(answer)["CertificateArn"]
                with self.lock:
                    self.issued_at[arn] = time.monotonic() + ACM_VALIDATION[1] * self.args.scale
                return answer
            arn = json.loads(request)["CertificateArn"]
            doc = json.loads(answer)
        except (ValueError, KeyError, TypeError):
            return answer
        with self.lock:
            pending = time.monotonic() < self.issued_at.get(arn, 0)
        cert = doc.get("Certificate", {})
        if not pending or cert.get("Status") != "ISSUED":
            return answer
        cert["Status"] = "PENDING_VALIDATION"
        for option in cert.get("DomainValidationOptions", []):
            option["ValidationStatus"] = "PENDING_VALIDATION"
        return json.dumps(doc).encode()

    def record(self, service, operation, start, end, throttled):
        if not self.args.log:
            return
        line = json.dumps({"service": service, "operation": operation, "start": round(start, 4),
                           "end": round(end, 4), "throttled": throttled})
        with self.lock, open(self.args.log, "a") as f:
            f.write(line + "\n")

    def wrote(self, start, end, upstream):
        with self.lock:
            self.writes += 1
            self.upstream_max = max(self.upstream_max, upstream)
            self.upstream_sum += upstream
            self.first_write = start if self.first_write is None else min(self.first_write, start)
            self.last_write = end if self.last_write is None else max(self.last_write, end)

    def stats(self):
        with self.lock:
            throttled = sum(self.throttled.values())
            return {
                "calls": self.calls,
                "throttled": throttled,
                "throttled_by_bucket": self.throttled,
                "calls_by_bucket": self.per_bucket,
                "writes": self.writes,
                "write_span_seconds": (self.last_write - self.first_write)
                if self.first_write is not None else 0.0,
                "upstream_seconds_max": self.upstream_max,
                "upstream_seconds_mean": self.upstream_sum / self.writes if self.writes else 0.0,
            }


HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}
SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")


def identify(headers, body, method, path):
    """(service, operation, protocol) of a request."""
    m = SCOPE.search(headers.get("Authorization", ""))
    service = m.group(1) if m else "unknown"
    target = headers.get("X-Amz-Target")
    if target:
        return service, target.rsplit(".", 1)[-1], "json"
    ctype = headers.get("Content-Type", "")
    # Smithy RPC v2 CBOR (CloudWatch): POST /service/NAME/operation/OPERATION.
    m = re.match(r"/service/[^/]+/operation/([A-Za-z0-9]+)$", urllib.parse.urlsplit(path).path)
    if method == "POST" and m:
        return service, m.group(1), "json"
    if method == "POST" and "x-www-form-urlencoded" in ctype:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return service, form["Action"][0], "query"
    return service, f"{method} {urllib.parse.urlsplit(path).path}", "rest"


def handler_for(model, upstream):
    up = urllib.parse.urlsplit(upstream)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Without TCP_NODELAY, a body written after its headers waits for
        # the client's delayed ACK: about 40 ms added to every call.
        disable_nagle_algorithm = True

        def log_message(self, *a):
            pass

        def read_body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                return b"".join(chunks)
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def answer(self, status, headers, body):
            self.send_response(status)
            for k, v in headers:
                if k.lower() not in HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            # Headers and body in one write (end_headers would flush the
            # headers on their own).
            self._headers_buffer.append(b"\r\n")
            if self.command != "HEAD":
                self._headers_buffer.append(body)
            self.wfile.write(b"".join(self._headers_buffer))
            self._headers_buffer = []

        def control(self):
            if self.path == "/__proxy/stats":
                self.answer(200, [("Content-Type", "application/json")],
                            json.dumps(model.stats()).encode())
            elif self.path == "/__proxy/reset":
                model.reset()
                self.answer(200, [], b"")
            else:
                self.answer(404, [], b"")

        def handle_any(self):
            if self.path.startswith("/__proxy/"):
                return self.control()
            body = self.read_body()
            service, operation, protocol = identify(self.headers, body, self.command, self.path)
            if not model.admit(service, operation):
                status, ctype, text, extra = throttle_answer(service, protocol)
                headers = [("Content-Type", ctype)] + list(extra.items())
                now = time.monotonic()
                model.record(service, operation, now, now, True)
                return self.answer(status, headers, text.encode())
            start = time.monotonic()
            conn = http.client.HTTPConnection(up.hostname, up.port or 80, timeout=300)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            upstream = time.monotonic() - start
            # The modelled latency is the call's whole answer time, the
            # emulator's own time included.
            left = model.delay(operation) - (time.monotonic() - start)
            if left > 0:
                time.sleep(left)
            if not is_read(operation):
                model.wrote(start, time.monotonic(), upstream)
            model.record(service, operation, start, time.monotonic(), False)
            if service == "acm" and resp.status == 200:
                data = model.certificate(operation, body, data)
            self.answer(resp.status, resp.getheaders(), data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any

    return Handler


class Server(http.server.ThreadingHTTPServer):
    # socketserver's listen backlog is 5: a client opening ten connections
    # at once had some of them wait for a SYN retransmission, which the
    # makespan then counted as stackd's.
    request_queue_size = 256


def critical_path(dot, scale, call_latency):
    """Longest path over the resource nodes of `stackd graph`, each resource
    weighing one modelled call (its slow call, or --call-latency)."""
    nodes, edges = set(), {}
    for line in dot.splitlines():
        m = re.match(r'\s*"([^"]+)"\s*->\s*"([^"]+)"', line)
        if m:
            a, b = m.groups()
            nodes.update((a, b))
            edges.setdefault(a, set()).add(b)
            continue
        m = re.match(r'\s*"([^"]+)"\s*;', line)
        if m:
            nodes.add(m.group(1))

    def weight(node):
        # TYPE.NAME or module.M.TYPE.NAME; data sources, variables and
        # locals weigh nothing.
        parts = node.split(".")
        if "data" in parts:
            return 0.0
        type_name = next((p for p in parts if p.startswith("aws_")), None)
        if type_name is None:
            return 0.0
        if type_name == ACM_VALIDATION[0]:
            return max(0.0, ACM_VALIDATION[1] * scale - call_latency)
        return SLOW_TYPES[type_name] * scale if type_name in SLOW_TYPES else call_latency

    memo, path = {}, {}

    def longest(n, stack=()):
        if n in memo:
            return memo[n]
        best, via = 0.0, None
        for d in edges.get(n, ()):
            if d in stack:
                continue
            w = longest(d, stack + (n,))
            if w > best:
                best, via = w, d
        memo[n] = best + weight(n)
        path[n] = via
        return memo[n]

    sys.setrecursionlimit(100000)
    top = max(nodes, key=longest) if nodes else None
    chain = []
    while top:
        if weight(top) > 0:
            chain.append(top)
        top = path.get(top)
    return (memo[chain[0]] if chain else 0.0), chain


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--upstream", default="http://127.0.0.1:4566")
    s.add_argument("--buckets", action="store_true")
    s.add_argument("--scale", type=float, default=0.0)
    s.add_argument("--call-latency", type=float, default=0.0)
    s.add_argument("--read-latency", type=float, default=0.0)
    s.add_argument("--log", help="append one JSON line per call (service, operation, start, end, throttled)")
    c = sub.add_parser("critical-path")
    c.add_argument("--scale", type=float, required=True)
    c.add_argument("--call-latency", type=float, default=0.0)
    args = p.parse_args()
    if args.mode == "critical-path":
        seconds, chain = critical_path(sys.stdin.read(), args.scale, args.call_latency)
        print(json.dumps({"seconds": seconds, "chain": list(reversed(chain))}))
        return
    server = Server(("127.0.0.1", args.port), handler_for(Model(args), args.upstream))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
