#!/usr/bin/env bash
# claimwire's two commands:
#   ./run_local.sh          set up .venv, then run the main job on the bundled sample (served on loopback) → out/
#   ./run_local.sh test     set up .venv, then run the test suite (extra arguments go to pytest)
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "claimwire: creating .venv with $PY"
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python

# Reinstall only when the pinned requirements or the package definition changed.
stamp=$(cat requirements.lock setup.py | sha256sum | cut -c1-16)
if [ "$(cat .venv/.claimwire-stamp 2>/dev/null || true)" != "$stamp" ]; then
  echo "claimwire: installing dependencies into .venv (log: .venv/install.log)"
  {
    "$VPY" -m pip install -q --upgrade pip &&
    # the CPU torch wheel first and pinned: nothing later may pull a multi-GB CUDA build
    "$VPY" -m pip install -q torch==2.13.0 &&
    "$VPY" -m pip install -q -r requirements.lock &&
    "$VPY" -m pip install -q --no-deps --no-build-isolation -e .
  } > .venv/install.log 2>&1 || { tail -20 .venv/install.log; echo "claimwire: installing failed (see .venv/install.log)"; exit 1; }
  echo "$stamp" > .venv/.claimwire-stamp
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

if [ "${1:-}" = "test" ]; then
  shift
  # Debian packages the tests need when missing: headless Chromium renders the report (test_report.py), and a
  # Java runtime runs the Spark read example (test_docs.py)
  packages=""
  command -v chromium >/dev/null 2>&1 || packages="$packages chromium"
  command -v java >/dev/null 2>&1 || packages="$packages default-jre-headless"
  if [ -n "$packages" ]; then
    echo "claimwire: installing$packages for the tests (log: .venv/apt.log)"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    # slim images drop /usr/share/man, and the JRE's post-install script fails without man1
    # shellcheck disable=SC2086
    { $SUDO mkdir -p /usr/share/man/man1 && $SUDO apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $packages; } \
      > .venv/apt.log 2>&1 || { tail -20 .venv/apt.log; echo "claimwire: could not install$packages"; exit 1; }
  fi
  # PySpark (318 MB) only for the tests: the main job never needs it
  spark_stamp=$(sha256sum < requirements-spark.lock | cut -c1-16)
  if [ "$(cat .venv/.claimwire-spark-stamp 2>/dev/null || true)" != "$spark_stamp" ]; then
    echo "claimwire: installing PySpark for the Spark read test (log: .venv/install-spark.log)"
    "$VPY" -m pip install -q -r requirements-spark.lock > .venv/install-spark.log 2>&1 \
      || { tail -20 .venv/install-spark.log; echo "claimwire: installing PySpark failed"; exit 1; }
    echo "$spark_stamp" > .venv/.claimwire-spark-stamp
  fi
  exec "$VPY" -m pytest tests "$@"
fi

# The main job: serve the sample news web on 127.0.0.1 and run the pipeline over its feeds.
mkdir -p out
rm -f out/feeds.txt
# a fixed port, so a second ./run_local.sh names the same URLs (its rows replace the first run's, not add to them)
"$VPY" samples/serve.py --port "${CLAIMWIRE_SAMPLE_PORT:-8757}" --write-feeds out/feeds.txt > out/sample-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s out/feeds.txt ] && break; sleep 0.1; done
[ -s out/feeds.txt ] || { echo "claimwire: the sample server did not start (see out/sample-server.log)"; exit 1; }
echo "claimwire: sample feeds served at $(head -1 out/feeds.txt | sed 's#/[^/]*/feed.xml##')"
# every sample outlet sits on the one loopback host, so the politeness delay is shortened for it
"$VPY" -m pipeline run --feeds out/feeds.txt --output out --min-host-delay 0.05 "$@"
"$VPY" -m pipeline report out
