import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "samples"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from serve import feed_urls, serve_site  # noqa: E402

from transforms.common import Progress  # noqa: E402

Progress.enabled = False


@pytest.fixture(scope="session")
def sample_site():
    server = serve_site()
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def sample_feeds(sample_site, tmp_path_factory):
    path = tmp_path_factory.mktemp("feeds") / "feeds.txt"
    path.write_text("\n".join(feed_urls(sample_site)) + "\n")
    return str(path)


@pytest.fixture(scope="session")
def sample_run(sample_feeds, tmp_path_factory):
    """The main job over the sample site, once per session (NER included); returns the output directory."""
    from pipeline.cli import main
    out = tmp_path_factory.mktemp("sample-out")
    assert main(["run", "--feeds", sample_feeds, "--output", str(out), "--min-host-delay", "0"]) == 0
    return str(out)


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """A local Spark (PySpark and Java, which ./run_local.sh test installs), bound to loopback, no web UI; one per
    session. docs/schema.md's Spark example calls getOrCreate() and gets this one."""
    from pyspark.sql import SparkSession
    scratch = tmp_path_factory.mktemp("spark")
    session = (SparkSession.builder.master("local[1]").config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1").config("spark.ui.enabled", "false")
               .config("spark.sql.session.timeZone", "UTC").config("spark.sql.warehouse.dir", str(scratch / "wh"))
               .config("spark.local.dir", str(scratch / "local")).getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
