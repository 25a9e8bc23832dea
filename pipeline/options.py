"""claimwire's pipeline options (a PipelineOptions subclass, so they travel with the job to every worker)."""
from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions

from claimcore.http_client import FetchPolicy


class ClaimwireOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser):
        g = parser.add_argument_group("claimwire")
        g.add_argument("--feeds", nargs="+", default=[],
                       help="feed URLs (http/https), local feed files, or files listing feed URLs one per line")
        g.add_argument("--site", nargs="+", default=[],
                       help="site addresses whose feeds are discovered (<link rel=alternate>, common feed paths, "
                            "a news sitemap) with the same fetch policy")
        g.add_argument("--input", nargs="+", default=[],
                       help="local documents: JSONL(.gz) or .json of {id,url,html|text,title,published,language}, "
                            "WARC(.gz) archives, or folders of .html/.html.gz/.txt/.json files")
        g.add_argument("--shard-size", type=int, default=1000,
                       help="--input is processed in shards of at most this many documents, each committed on its "
                            "own: memory follows the shard, and the same command again skips committed shards "
                            "(docs/running.md, Archives)")
        g.add_argument("--reprocess", action="store_true", default=False,
                       help="run every shard of --input again, even those already committed under the same "
                            "components and options")
        g.add_argument("--output", help="output directory (local path or any Beam filesystem URL)")
        g.add_argument("--since", default=None, help="keep articles published on or after this date (YYYY-MM-DD)")
        g.add_argument("--until", default=None, help="keep articles published before this date (YYYY-MM-DD)")
        g.add_argument("--num-shards", type=int, default=1,
                       help="Parquet files per partition for articles and claims (the other tables are one file)")
        # fetching
        g.add_argument("--min-host-delay", type=float, default=1.0,
                       help="seconds between two requests to one host, per worker process")
        g.add_argument("--max-host-connections", type=int, default=2,
                       help="requests in flight to one host at once, per worker process")
        g.add_argument("--connect-timeout", type=float, default=5.0)
        g.add_argument("--read-timeout", type=float, default=10.0)
        g.add_argument("--total-timeout", type=float, default=30.0, help="seconds per attempt, body included")
        g.add_argument("--max-bytes", type=int, default=5_000_000, help="largest response body on the wire")
        g.add_argument("--max-decoded-bytes", type=int, default=20_000_000, help="largest body after gzip")
        g.add_argument("--max-redirects", type=int, default=5)
        g.add_argument("--retries", type=int, default=2, help="extra attempts for timeouts, 5xx and 429")
        g.add_argument("--allow-private-hosts", action="store_true", default=False,
                       help="let links from feed content reach loopback/private addresses")
        g.add_argument("--ignore-robots", action="store_true", default=False)
        g.add_argument("--contact-url", default=None, help="a URL put in the User-Agent for site operators")
        # extraction and models
        g.add_argument("--extract-timeout", type=float, default=20.0, help="seconds per page in trafilatura")
        g.add_argument("--ner-model", default=None,
                       help="NER model: a local directory or a Hugging Face hub id (needs internet); "
                            "default: the shipped models/claimwire-ner-v1; claimwire-ner-v2: its 4-layer "
                            "student, 1.7x the words/s, less accurate")
        g.add_argument("--attribution-model", default=None,
                       help="attribution head (who says what) over the NER encoder: a local directory, or 'none'; "
                            "default: the shipped models/claimwire-attribution-v1")
        g.add_argument("--ner-batch-size", type=int, default=None,
                       help="deprecated: does nothing (each sentence is its own model call); removed in the next "
                            "release")
        g.add_argument("--no-ner", action="store_true", default=False, help="skip named-entity recognition")
        g.add_argument("--no-dedup", action="store_true", default=False, help="skip duplicate and story detection")
        g.add_argument("--no-claims", action="store_true", default=False, help="skip claim extraction")
        g.add_argument("--story-window-days", type=float, default=3.0,
                       help="story candidates are articles published within this many days of each other; a pair "
                            "further apart scores lower, and no story spans more than 30 days (docs/architecture.md, "
                            "Story grouping)")
        g.add_argument("--embedding-model", default=None,
                       help="sentence encoder for story grouping: a local directory (its model.int8.onnx through "
                            "ONNX Runtime, else PyTorch) or a hub id (default: the shipped models/claimwire-embed-v1, "
                            "all-MiniLM-L6-v2 as int8 ONNX)")
        g.add_argument("--quiet", action="store_true", default=False,
                       help="no progress line and a one-line summary; errors still print")
        g.add_argument("--verbose", action="store_true", default=False,
                       help="library logs and full tracebacks")
        c = parser.add_argument_group("claimwire continuous modes (docs/running.md)")
        c.add_argument("--follow", action="store_true", default=False,
                       help="poll the feeds in bounded cycles; feed state, seen URLs and the story index persist in "
                            "the output directory and Parquet grows cycle by cycle")
        c.add_argument("--poll-interval", type=float, default=300.0, help="seconds between polls of the feed list")
        c.add_argument("--cycles", type=int, default=0, help="with --follow: stop after this many cycles (0: never)")
        c.add_argument("--seen-ttl-days", type=float, default=30.0,
                       help="an article URL seen this long ago may be fetched again (bounds the seen-URL state)")
        c.add_argument("--window-seconds", type=float, default=600.0,
                       help="with --streaming: one Parquet file per table per window of this length")
        c.add_argument("--stop-after", type=float, default=None,
                       help="with --streaming: stop polling after this many seconds (default: never)")

    def fetch_policy(self) -> FetchPolicy:
        return FetchPolicy(
            connect_timeout=self.connect_timeout, read_timeout=self.read_timeout, total_timeout=self.total_timeout,
            max_bytes=self.max_bytes, max_decoded_bytes=self.max_decoded_bytes, max_redirects=self.max_redirects,
            retries=self.retries, min_host_delay=self.min_host_delay, max_host_connections=self.max_host_connections,
            respect_robots=not self.ignore_robots,
            allow_private_hosts=self.allow_private_hosts, contact_url=self.contact_url)
