"""Our HTTP client against real loopback servers: limits, decompression, redirects, retries, address checks."""
import gzip
import time

import pytest
from werkzeug.wrappers import Response

from claimcore.http_client import FetchError, FetchPolicy, HttpClient, is_public_address


def client(**kw):
    kw.setdefault("min_host_delay", 0)
    kw.setdefault("backoff_base", 0.01)
    sleeps = []
    c = HttpClient(FetchPolicy(**kw), sleep=sleeps.append)
    return c, sleeps


def test_plain_and_gzip_bodies(httpserver):
    httpserver.expect_request("/plain").respond_with_data("hello")
    httpserver.expect_request("/gz").respond_with_response(
        Response(gzip.compress(b"x" * 1000), headers={"Content-Encoding": "gzip"}))
    c, _ = client()
    assert c.fetch(httpserver.url_for("/plain"), trusted=True).body == b"hello"
    r = c.fetch(httpserver.url_for("/gz"), trusted=True)
    assert r.body == b"x" * 1000 and r.status == 200


def test_user_agent_names_claimwire_and_contact(httpserver):
    httpserver.expect_request("/ua").respond_with_data("ok")
    c, _ = client(contact_url="https://example.org/contact")
    c.fetch(httpserver.url_for("/ua"), trusted=True)
    ua = httpserver.log[-1][0].headers["User-Agent"]
    assert ua.startswith("claimwire/") and "https://example.org/contact" in ua


def test_body_over_cap_and_gzip_bomb(httpserver):
    httpserver.expect_request("/big").respond_with_data(b"a" * 50_000)
    bomb = gzip.compress(b"\0" * 50_000_000)  # ~50 KB on the wire, 50 MB inflated
    httpserver.expect_request("/bomb").respond_with_response(Response(bomb, headers={"Content-Encoding": "gzip"}))
    c, _ = client(max_bytes=10_000, max_decoded_bytes=1_000_000)
    with pytest.raises(FetchError) as e:
        c.fetch(httpserver.url_for("/big"), trusted=True)
    assert e.value.kind == "body_too_large"
    c, _ = client(max_bytes=200_000, max_decoded_bytes=1_000_000)
    with pytest.raises(FetchError) as e:
        c.fetch(httpserver.url_for("/bomb"), trusted=True)
    assert e.value.kind == "body_too_large"


def test_redirect_chain_loop_and_limit(httpserver):
    httpserver.expect_request("/r1").respond_with_response(Response(status=301, headers={"Location": "/r2"}))
    httpserver.expect_request("/r2").respond_with_response(Response(status=302, headers={"Location": "/final"}))
    httpserver.expect_request("/final").respond_with_data("done")
    httpserver.expect_request("/loopa").respond_with_response(Response(status=302, headers={"Location": "/loopb"}))
    httpserver.expect_request("/loopb").respond_with_response(Response(status=302, headers={"Location": "/loopa"}))
    c, _ = client()
    r = c.fetch(httpserver.url_for("/r1"), trusted=True)
    assert r.body == b"done" and r.final_url.endswith("/final")
    with pytest.raises(FetchError) as e:
        c.fetch(httpserver.url_for("/loopa"), trusted=True)
    assert e.value.kind == "too_many_redirects"
    c, _ = client(max_redirects=1)
    with pytest.raises(FetchError) as e:
        c.fetch(httpserver.url_for("/r1"), trusted=True)
    assert e.value.kind == "too_many_redirects"


def test_4xx_not_retried_5xx_retried_with_retry_after(httpserver):
    httpserver.expect_request("/gone").respond_with_data("", status=410)
    httpserver.expect_request("/busy").respond_with_response(Response("", status=503, headers={"Retry-After": "2"}))
    c, sleeps = client(retries=2)
    with pytest.raises(FetchError) as e:
        c.fetch(httpserver.url_for("/gone"), trusted=True)
    assert e.value.kind == "http_client_error" and e.value.attempts == 1 and sleeps == []
    with pytest.raises(FetchError) as e:
        c.fetch(httpserver.url_for("/busy"), trusted=True)
    assert e.value.kind == "http_server_error" and e.value.attempts == 3
    assert sleeps == [2.0, 2.0]  # Retry-After honoured on each retry


def test_5xx_then_success_counts_attempts(httpserver):
    httpserver.expect_ordered_request("/flaky").respond_with_data("", status=500)
    httpserver.expect_ordered_request("/flaky").respond_with_data("ok")
    c, sleeps = client(retries=2)
    r = c.fetch(httpserver.url_for("/flaky"), trusted=True)
    assert r.body == b"ok" and r.attempts == 2 and len(sleeps) == 1 and sleeps[0] > 0


def test_read_timeout_on_slow_server(httpserver):
    def slow(request):
        time.sleep(1.5)
        return Response("late")
    httpserver.expect_request("/slow").respond_with_handler(slow)
    c, _ = client(read_timeout=0.3, retries=0)
    with pytest.raises(FetchError) as e:
        c.fetch(httpserver.url_for("/slow"), trusted=True)
    assert e.value.kind == "timeout"


def test_untrusted_link_to_loopback_is_blocked_without_a_request(httpserver):
    httpserver.expect_request("/secret").respond_with_data("internal")
    c, _ = client()
    with pytest.raises(FetchError) as e:
        c.fetch(httpserver.url_for("/secret"))  # not trusted, not on a trusted host
    assert e.value.kind == "blocked_address"
    assert len(httpserver.log) == 0
    # the same URL is fine when its host is the operator's feed host
    host = httpserver.url_for("/").split("/")[2]
    assert c.fetch(httpserver.url_for("/secret"), trusted_hosts={host}).body == b"internal"


def test_connection_uses_the_checked_address_not_a_second_lookup(httpserver, monkeypatch):
    """DNS rebinding: a name that passes the check must not be resolved again for the connection (a second
    answer could be internal). Loopback stands in for a public address here; the name is looked up once."""
    import socket

    import claimcore.http_client as http_client
    httpserver.expect_request("/page").respond_with_data("public page")
    monkeypatch.setattr(http_client, "is_public_address", lambda ip: ip == "127.0.0.1")
    lookups = []
    real_getaddrinfo = socket.getaddrinfo

    def counting_getaddrinfo(host, *args, **kwargs):
        lookups.append(host)
        return real_getaddrinfo(host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", counting_getaddrinfo)
    port = httpserver.port
    c, _ = client()
    r = c.fetch(f"http://localhost:{port}/page")
    assert r.body == b"public page"
    assert lookups.count("localhost") == 1, lookups
    assert httpserver.log[-1][0].headers["Host"] == f"localhost:{port}"


def test_trusted_url_redirecting_to_another_loopback_host_is_blocked(httpserver):
    httpserver.expect_request("/jump").respond_with_response(
        Response(status=302, headers={"Location": "http://127.0.0.2:9/internal"}))
    c, _ = client()
    with pytest.raises(FetchError) as e:
        c.fetch(httpserver.url_for("/jump"), trusted=True)
    assert e.value.kind == "blocked_address"


def test_only_http_schemes():
    c, _ = client()
    for url in ("file:///etc/passwd", "ftp://example.org/x", "gopher://x", "javascript:alert(1)"):
        with pytest.raises(FetchError) as e:
            c.fetch(url, trusted=True)
        assert e.value.kind == "invalid_url"


@pytest.mark.parametrize("ip", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                "0.0.0.0", "224.0.0.1", "240.0.0.1", "::1", "fc00::1", "fe80::1",
                                "::ffff:127.0.0.1", "100.64.0.1"])
def test_non_public_addresses(ip):
    assert not is_public_address(ip)


@pytest.mark.parametrize("ip", ["8.8.8.8", "93.184.216.34", "2606:4700::1111"])
def test_public_addresses(ip):
    assert is_public_address(ip)


def test_per_host_delay_spaces_requests(httpserver):
    httpserver.expect_request("/p").respond_with_data("ok")
    c = HttpClient(FetchPolicy(min_host_delay=0.2, respect_robots=False))
    t0 = time.monotonic()
    for _ in range(3):
        c.fetch(httpserver.url_for("/p"), trusted=True)
    assert time.monotonic() - t0 >= 0.4


def test_robots_txt_is_honoured(httpserver):
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /private/\n")
    c, _ = client()
    host = httpserver.url_for("/").split("/")[2]
    assert c.allowed_by_robots(httpserver.url_for("/news/a.html"), {host})
    assert not c.allowed_by_robots(httpserver.url_for("/private/b.html"), {host})


def test_per_host_concurrency_limit():
    import http.server
    import threading
    state = {"now": 0, "max": 0}
    lock = threading.Lock()

    class Slow(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            time.sleep(0.2)
            with lock:
                state["now"] -= 1
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/c"
    c = HttpClient(FetchPolicy(min_host_delay=0, max_host_connections=2, respect_robots=False))
    threads = [threading.Thread(target=c.fetch, args=(url,), kwargs={"trusted": True}) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    server.shutdown()
    assert state["max"] == 2  # six callers, never more than two in flight to the host
