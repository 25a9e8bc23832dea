"""claimwire's HTTP client: every fetch is bounded, polite and checked against unsafe addresses.

- bounded: connect/read timeouts and a total deadline per attempt, a cap on bytes on the wire and another on bytes
  after decompression (a gzip bomb stops at the cap), a cap on redirects, loops detected;
- polite: a per-host minimum delay between requests, robots.txt (protego) honoured, a User-Agent naming claimwire;
- safe: a URL taken from fetched content (feed entry links, redirect targets) may not reach loopback, private,
  link-local, multicast or reserved addresses, checked after DNS resolution on every hop, unless it is on the host
  of the operator's own URL that led to it, or the operator allowed private hosts;
- retried: timeouts, connection errors, 5xx and 429 with exponential backoff and jitter, honouring Retry-After;
  other 4xx are final.

Failures raise FetchError with a kind from schemas.ERROR_KINDS, so callers turn them straight into dead letters.
"""
from __future__ import annotations

import email.utils
import ipaddress
import random
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import urllib3

from schemas import ERROR_KINDS

CLAIMWIRE_VERSION = "0.1.0"


class FetchError(Exception):
    def __init__(self, kind: str, message: str, attempts: int = 1, status: int | None = None):
        assert kind in ERROR_KINDS, kind
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.attempts = attempts
        self.status = status


@dataclass
class FetchPolicy:
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_bytes: int = 5_000_000  # on the wire
    max_decoded_bytes: int = 20_000_000  # after gzip/deflate
    max_redirects: int = 5
    retries: int = 2  # extra attempts after the first
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_retry_after: float = 60.0
    min_host_delay: float = 1.0  # seconds between two requests to one host (from one worker process)
    max_host_connections: int = 2  # requests in flight to one host at once (from one worker process)
    respect_robots: bool = True
    allow_private_hosts: bool = False
    contact_url: str | None = None

    @property
    def user_agent(self) -> str:
        contact = f"; +{self.contact_url}" if self.contact_url else ""
        return f"claimwire/{CLAIMWIRE_VERSION} (news claim extraction{contact})"


@dataclass
class Response:
    url: str  # what was asked for
    final_url: str  # after redirects
    status: int
    headers: dict[str, str]
    body: bytes
    attempts: int = 1
    fetched_at: float = field(default_factory=time.time)


def is_public_address(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return not (addr.is_loopback or addr.is_private or addr.is_link_local or addr.is_multicast
                or addr.is_reserved or addr.is_unspecified or not addr.is_global)


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise FetchError("dns_error", f"cannot resolve {host}: {e}") from e
    return sorted({info[4][0] for info in infos})


def host_key(url: str) -> str:
    parts = urlsplit(url)
    return (parts.hostname or "").lower() + (f":{parts.port}" if parts.port else "")


def check_url(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError("invalid_url", f"only http(s) URLs are fetched: {url[:200]}")
    if not parts.hostname:
        raise FetchError("invalid_url", f"no host in {url[:200]}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as e:
        raise FetchError("invalid_url", f"bad port in {url[:200]}") from e
    return parts.hostname, port


class HostThrottle:
    """Per-host politeness within one worker process (thread-safe): a minimum delay between request starts and
    at most `max_concurrent` requests in flight to one host."""

    def __init__(self, min_delay: float, max_concurrent: int = 2):
        self.min_delay = min_delay
        self.max_concurrent = max(1, max_concurrent)
        self._next = {}
        self._slots = {}
        self._lock = threading.Lock()

    def slot(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            if host not in self._slots:
                self._slots[host] = threading.BoundedSemaphore(self.max_concurrent)
            return self._slots[host]

    def wait(self, host: str) -> None:
        if self.min_delay <= 0:
            return
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next.get(host, 0.0))
            self._next[host] = at + self.min_delay
        if at > now:
            time.sleep(at - now)


def _decompress(body: bytes, encoding: str, limit: int) -> bytes:
    encoding = (encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise FetchError("decode_error", f"unsupported Content-Encoding {encoding!r}")
    wbits = 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS
    d = zlib.decompressobj(wbits)
    out, data = [], body
    size = 0
    try:
        while data:
            chunk = d.decompress(data, 65536)
            size += len(chunk)
            if size > limit:
                raise FetchError("body_too_large", f"decompressed body over {limit} bytes")
            out.append(chunk)
            data = d.unconsumed_tail
        out.append(d.flush())
    except zlib.error as e:
        if encoding == "deflate" and not out:  # some servers send raw deflate without the zlib header
            return _decompress_raw(body, limit)
        raise FetchError("decode_error", f"broken {encoding} stream: {e}") from e
    return b"".join(out)


def _decompress_raw(body: bytes, limit: int) -> bytes:
    d = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = d.decompress(body, limit + 1)
    except zlib.error as e:
        raise FetchError("decode_error", f"broken deflate stream: {e}") from e
    if len(out) > limit:
        raise FetchError("body_too_large", f"decompressed body over {limit} bytes")
    return out


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class HttpClient:
    """One per worker process (create it in DoFn.setup): holds the connection pool, throttle and robots cache."""

    def __init__(self, policy: FetchPolicy | None = None, sleep=time.sleep):
        self.policy = policy or FetchPolicy()
        self.pool = urllib3.PoolManager(num_pools=64, maxsize=4, retries=False)
        self.throttle = HostThrottle(self.policy.min_host_delay, self.policy.max_host_connections)
        self._robots = {}
        self._sleep = sleep

    # ---- public ----------------------------------------------------------------------------------------------
    def fetch(self, url: str, *, trusted_hosts: frozenset[str] | set[str] = frozenset(), trusted: bool = False,
              etag: str | None = None, last_modified: str | None = None) -> Response:
        """GETs url. `trusted` marks an operator-given URL; `trusted_hosts` the hosts of operator URLs that led
        here (their own links and redirects may stay on those hosts even when they are private)."""
        attempts = 0
        while True:
            attempts += 1
            try:
                with self.throttle.slot(host_key(url)):  # held for the attempt, not for the backoff sleep
                    resp = self._fetch_once(url, trusted=trusted, trusted_hosts=trusted_hosts, etag=etag,
                                            last_modified=last_modified)
                resp.attempts = attempts
                return resp
            except FetchError as e:
                e.attempts = attempts
                retryable = e.kind in ("timeout", "connection_error") or (
                    e.kind == "http_server_error") or (e.status == 429)
                if not retryable or attempts > self.policy.retries:
                    if e.status == 429:
                        e.kind = "http_client_error"
                    raise
                delay = getattr(e, "retry_after", None)
                if delay is None:
                    delay = min(self.policy.backoff_cap, self.policy.backoff_base * 2 ** (attempts - 1))
                    delay *= 0.5 + random.random()  # jitter: no synchronized retry storms
                if delay > self.policy.max_retry_after:
                    raise
                self._sleep(delay)

    def allowed_by_robots(self, url: str, trusted_hosts=frozenset()) -> bool:
        if not self.policy.respect_robots:
            return True
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        parser = self._robots.get(key)
        if parser is None:
            parser = self._load_robots(key, trusted_hosts)
            self._robots[key] = parser
        return parser is True or parser.can_fetch(url, "claimwire")

    # ---- internals -------------------------------------------------------------------------------------------
    def _load_robots(self, base: str, trusted_hosts):
        from protego import Protego
        try:
            r = self._fetch_once(base + "/robots.txt", trusted=False, trusted_hosts=trusted_hosts,
                                 max_bytes=500_000)
        except FetchError:
            return True  # unreachable robots.txt: allow (as major crawlers do for 4xx)
        if r.status != 200:
            return True
        return Protego.parse(r.body.decode("utf-8", "replace"))

    def _check_address(self, url: str, trusted: bool, trusted_hosts) -> str | None:
        """Raises blocked_address when url's host resolves to a non-public address. Returns the checked address
        the connection must use (None when no check applies): connecting by name would resolve it again, and a
        second answer could point at an internal host (DNS rebinding)."""
        host, port = check_url(url)
        if trusted or self.policy.allow_private_hosts or host_key(url) in trusted_hosts:
            return None
        addresses = resolve(host, port)
        for ip in addresses:
            if not is_public_address(ip):
                raise FetchError("blocked_address", f"{host} resolves to non-public address {ip}")
        return addresses[0]

    def _request(self, url: str, pinned_ip: str | None, headers: dict, timeout):
        if pinned_ip is None:
            return self.pool.request("GET", url, headers=headers, redirect=False, preload_content=False,
                                     decode_content=False, timeout=timeout)
        parts = urlsplit(url)
        host, port = check_url(url)
        # TLS still verifies the certificate for the name (SNI and hostname check), not for the address
        tls = {"server_hostname": host, "assert_hostname": host} if parts.scheme == "https" else {}
        pool = self.pool.connection_from_host(pinned_ip, port=port, scheme=parts.scheme, pool_kwargs=tls)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return pool.urlopen("GET", path, headers=dict(headers, Host=parts.netloc.rsplit("@", 1)[-1]),
                            redirect=False, preload_content=False, decode_content=False, retries=False,
                            timeout=timeout, assert_same_host=False)

    def _fetch_once(self, url: str, *, trusted: bool, trusted_hosts, etag=None, last_modified=None,
                    max_bytes: int | None = None) -> Response:
        p = self.policy
        max_bytes = max_bytes or p.max_bytes
        deadline = time.monotonic() + p.total_timeout
        seen, current, hop_trusted = [url], url, trusted
        trusted_hosts = set(trusted_hosts) | ({host_key(url)} if trusted else set())
        for _ in range(p.max_redirects + 1):
            pinned_ip = self._check_address(current, hop_trusted, trusted_hosts)
            self.throttle.wait(host_key(current))
            headers = {"User-Agent": p.user_agent, "Accept-Encoding": "gzip, deflate",
                       "Accept": "application/rss+xml, application/atom+xml, application/xml, text/xml, "
                                 "text/html;q=0.9, */*;q=0.5"}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            try:
                r = self._request(current, pinned_ip, headers, urllib3.Timeout(
                    connect=p.connect_timeout, read=max(0.1, min(p.read_timeout, deadline - time.monotonic()))))
            except (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.ReadTimeoutError) as e:
                raise FetchError("timeout", f"{type(e).__name__}: {e}") from e
            except urllib3.exceptions.NewConnectionError as e:
                if isinstance(getattr(e, "__cause__", None), socket.gaierror):
                    raise FetchError("dns_error", str(e)) from e
                raise FetchError("connection_error", str(e)) from e
            except urllib3.exceptions.LocationParseError as e:
                raise FetchError("invalid_url", str(e)) from e
            except (urllib3.exceptions.HTTPError, OSError) as e:
                reason = getattr(e, "reason", None)
                if isinstance(reason, urllib3.exceptions.ConnectTimeoutError) or "timed out" in str(e):
                    raise FetchError("timeout", str(e)) from e
                raise FetchError("connection_error", f"{type(e).__name__}: {e}") from e
            complete = False
            try:
                if r.status in (301, 302, 303, 307, 308):
                    loc = r.headers.get("Location")
                    if not loc:
                        raise FetchError("http_server_error", f"redirect {r.status} without Location", status=r.status)
                    nxt = urljoin(current, loc.strip())
                    if nxt in seen:
                        raise FetchError("too_many_redirects", f"redirect loop back to {nxt[:200]}")
                    seen.append(nxt)
                    current = nxt
                    hop_trusted = False  # a redirect target comes from fetched content
                    continue
                hdrs = {k.lower(): v for k, v in r.headers.items()}
                if r.status == 304:
                    return Response(url, current, 304, hdrs, b"")
                if r.status >= 400:
                    err = FetchError("http_server_error" if r.status >= 500 else "http_client_error",
                                     f"HTTP {r.status} for {current[:200]}", status=r.status)
                    err.retry_after = _retry_after(hdrs.get("retry-after"))
                    raise err
                body = self._read_body(r, hdrs, max_bytes, deadline)
                complete = True
                body = _decompress(body, hdrs.get("content-encoding", ""), p.max_decoded_bytes)
                return Response(url, current, r.status, hdrs, body)
            finally:
                # reuse the connection only when its body was read to the end; anything else is closed
                if complete:
                    r.release_conn()
                else:
                    r.close()
        raise FetchError("too_many_redirects", f"more than {p.max_redirects} redirects from {url[:200]}")

    @staticmethod
    def _read_body(r, hdrs, max_bytes: int, deadline: float) -> bytes:
        declared = hdrs.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FetchError("body_too_large", f"Content-Length {declared} over {max_bytes} bytes")
        chunks, size = [], 0
        try:
            while True:
                if time.monotonic() > deadline:
                    raise FetchError("timeout", "total time limit reached while reading the body")
                chunk = r.read1(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError("body_too_large", f"body over {max_bytes} bytes")
                chunks.append(chunk)
        except urllib3.exceptions.ReadTimeoutError as e:
            raise FetchError("timeout", f"read timed out: {e}") from e
        except (urllib3.exceptions.ProtocolError, OSError) as e:
            raise FetchError("connection_error", f"body interrupted: {e}") from e
        return b"".join(chunks)
