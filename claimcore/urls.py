"""URL normalization for identity: one canonical form per article, whatever tracking junk a link carries."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# query parameters that identify a campaign or a click, never the content
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "at_", "ga_")
_TRACKING_NAMES = {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "ref", "ref_src", "cmpid", "ocid",
                   "smid", "sref", "src", "ito", "_ga", "mkt_tok", "spm", "share", "amp"}


def canonicalize_url(url: str) -> str:
    """Lower-case scheme and host, drop 'www.', default ports, fragments, tracking parameters and a trailing
    slash; sort the remaining query parameters. Both http and https map to https (same resource on news sites)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "http":
        scheme = "https"
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not (k.lower().startswith(_TRACKING_PREFIXES) or k.lower() in _TRACKING_NAMES)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def outlet_of(url: str | None) -> str | None:
    """The outlet a URL belongs to: its host without 'www.' (the registered site, as readers know it)."""
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else (host or None)
