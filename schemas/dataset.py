"""The output dataset: where every table's files live, what they are called, and how a run commits them.

This module is the one owner of the output layout; the writers (transforms/parquet.py, transforms/streaming.py),
the story index reader, `--follow`, `claimwire compact` and the summary all go through it.

    OUT/_manifest.json        the committed state (every run's files), written last by each commit
    OUT/_commit.json          the journal of a commit in progress; present only between its first and last step
    OUT/.lock                 held (flock) by the process writing OUT; the kernel releases it when the process dies
    OUT/.staging/<attempt>/   a run's files before its commit, in the same layout
    OUT/articles/published_date=YYYY-MM-DD/run-<run_id>-part-SSSSS-of-NNNNN.parquet
    OUT/articles/published_date=__HIVE_DEFAULT_PARTITION__/...   undated articles (Hive's name for null)
    OUT/claims/published_date=YYYY-MM-DD/run-<run_id>-part-...   by the claim's article's publication date
    OUT/errors/run-<run_id>-part-SSSSS-of-NNNNN.parquet
    OUT/stories/part-00000-of-00001.parquet, OUT/story_claims/...   kept up to date over the dataset at each commit
    OUT/state/story_index/published_block=YYYY-MM-DD/part-...       by 30-day block of publication, the first day
                                                                    named; a commit replaces the blocks its run read
    OUT/state/story_index/published_block=__HIVE_DEFAULT_PARTITION__/...   undated rows, read by every run
    OUT/state/feeds/...                                             replaced whole at each commit
    streaming: OUT/<table>/[published_date=.../]window-<start>-<end>-<job>-part-SSSSS-of-NNNNN.parquet
    OUT/report/index.html     the HTML report (`claimwire report`, pipeline/report.py), rewritten whole

Three kinds of table:
- appended (articles, claims, errors): files belong to the run that wrote them. A run id is derived from what the
  run read (its article and error ids), so re-running the same input replaces that run's files, and a different
  input adds files. Rows are unique by key over the whole dataset: a row whose key another run already committed
  is not written again (the committed row stays; data once written is never lost to a later run).
- derived (stories, story_claims): brought up to date from the committed appended tables and the story index at
  each commit (the stories the commit's articles left or joined are recomputed), so a story spanning two runs'
  inputs is one row with all its articles.
- state (the story index, feed poll state): the run read the committed version and writes the whole new one;
  the story index by partition: a run reads the partitions its articles can reach (index_partitions_within) and
  the commit replaces those partitions only, so a run's cost follows its reach, not the whole index.

Commit protocol (local directories and Beam filesystems alike; rename is not atomic on object stores, so the
journal, not the rename, is what makes a commit all-or-nothing):
1. the run writes everything under OUT/.staging/<attempt>/ (readers never look there);
2. the commit computes the final names and the new manifest and writes them as the journal OUT/_commit.json;
3. it moves the staged files into place, deletes what the new manifest no longer lists, rebuilds the derived
   tables, writes OUT/_manifest.json and removes the journal and the staging directory.
Every step after 2 is idempotent, so a process killed anywhere is finished by the next run (`recover`): before
the journal exists nothing committed has changed; once it exists the commit is rolled forward.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import posixpath
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from schemas.records import (
    ARTICLES,
    CLAIMS,
    ERRORS,
    FEED_STATE,
    STORIES,
    STORY_CLAIMS,
    STORY_INDEX,
    Table,
    stable_id,
    to_table,
)

FORMAT = "claimwire-dataset/1"
MANIFEST = "_manifest.json"
JOURNAL = "_commit.json"
LOCK = ".lock"
STAGING = ".staging"
UNDATED = "__HIVE_DEFAULT_PARTITION__"  # what Hive, Spark, DuckDB, polars and pyarrow read as a null partition
PARTITION_COLUMN = "published_date"

APPENDED = (ARTICLES, CLAIMS, ERRORS)
DERIVED = (STORIES, STORY_CLAIMS)
STATE = (STORY_INDEX, FEED_STATE)
ALL_TABLES = {t.name: t for t in APPENDED + DERIVED + STATE}
PARTITIONED = frozenset({ARTICLES.name, CLAIMS.name, STORY_INDEX.name})
# The story index's partitions: 30-day blocks of publication time counted from the epoch (a thread's window, so a
# run's reach, index_reach in claimcore/story_grouping.py, is a few whole partitions), named by their first day.
INDEX_BLOCK_DAYS = 30
INDEX_PARTITION_COLUMN = "published_block"


class DatasetLocked(RuntimeError):
    """Another process is writing the output directory."""


class DatasetCorrupt(RuntimeError):
    """A committed file of the output directory cannot be read (truncated, overwritten, not Parquet)."""


# --- paths and names -------------------------------------------------------------------------------------------

def _table(table: Table | str) -> Table:
    return table if isinstance(table, Table) else ALL_TABLES[table]


def join(root: str, *parts: str) -> str:
    return FileSystems.join(root, *parts) if parts else root


def is_local(root: str) -> bool:
    return "://" not in root


def table_dir(root: str, table: Table | str) -> str:
    return join(root, _table(table).name)


def report_path(root: str) -> str:
    """Where `claimwire report` writes its page by default."""
    return join(root, "report", "index.html")


def index_partition(published: float | None) -> str:
    """The story index partition of a row published at `published` (epoch seconds, None when undated)."""
    if published is None:
        return f"{INDEX_PARTITION_COLUMN}={UNDATED}"
    block = int(float(published) // (INDEX_BLOCK_DAYS * 86400))
    first = dt.date(1970, 1, 1) + dt.timedelta(days=block * INDEX_BLOCK_DAYS)
    return f"{INDEX_PARTITION_COLUMN}={first.isoformat()}"


def index_partitions_within(start: float, end: float) -> list[str]:
    """The dated story index partitions holding any time of [start, end) (epoch seconds)."""
    span = INDEX_BLOCK_DAYS * 86400
    first, last = int(start // span), int((end - 1e-6) // span)
    return [index_partition(b * span) for b in range(first, last + 1)]


def partition_of(table: Table | str, row: dict) -> str:
    """The Hive partition directory of a row ('' for unpartitioned tables)."""
    name = _table(table).name
    if name not in PARTITIONED:
        return ""
    if name == STORY_INDEX.name:
        return index_partition(row.get("published"))
    published = row.get("published_at")
    if published is None:
        return f"{PARTITION_COLUMN}={UNDATED}"
    if isinstance(published, dt.datetime):
        day = (published.astimezone(dt.timezone.utc) if published.tzinfo else published).date()
    else:
        day = dt.datetime.fromtimestamp(float(published), dt.timezone.utc).date()
    return f"{PARTITION_COLUMN}={day.isoformat()}"


def file_name(prefix: str, shard: int, num_shards: int) -> str:
    return f"{prefix + '-' if prefix else ''}part-{shard:05d}-of-{num_shards:05d}.parquet"


def file_path(root: str, table: Table | str, partition: str, name: str) -> str:
    parts = [_table(table).name] + ([partition] if partition else []) + [name]
    return join(root, *parts)


def _rel(root: str, path: str) -> str:
    root = root.rstrip("/")
    return path[len(root) + 1:] if path.startswith(root + "/") else os.path.relpath(path, root)


def listed_files(root: str, table: Table | str) -> list[str]:
    """Every Parquet file present under a table's directory (partition directories included), sorted."""
    t = _table(table)
    patterns = [file_path(root, t, "", "*.parquet")]
    if t.name in PARTITIONED:
        patterns.append(file_path(root, t, "*", "*.parquet"))
    found = []
    for pattern in patterns:
        try:
            found += [m.path for m in FileSystems.match([pattern])[0].metadata_list]
        except Exception:  # noqa: BLE001 - no such directory yet
            pass
    return sorted(p for p in found if not p.endswith(".inprogress"))


def staging_dir(root: str) -> str:
    """A fresh staging directory for one run attempt."""
    return join(root, STAGING, uuid.uuid4().hex[:12])


def is_window_file(path: str) -> bool:
    return posixpath.basename(path).startswith("window-")


# --- the manifest ----------------------------------------------------------------------------------------------

def _read_json(path: str):
    try:
        with FileSystems.open(path) as f:
            return json.loads(f.read().decode("utf-8"))
    except Exception:  # noqa: BLE001 - absent (or, for the journal, never completely written)
        return None


def _write_json(path: str, obj) -> None:
    tmp = path + ".tmp"
    with FileSystems.create(tmp) as f:
        f.write(json.dumps(obj, indent=1, sort_keys=True).encode("utf-8"))
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


def load_manifest(root: str) -> dict | None:
    return _read_json(join(root, MANIFEST))


def committed_shards(root: str) -> set[str]:
    """The keys of the input shards committed into root (plan_commit's `shard`)."""
    return set(((load_manifest(root) or {}).get("shards") or {}))


def empty_manifest() -> dict:
    return {"format": FORMAT, "sequence": 0, "runs": {}, "tables": {}}


def committed_files(root: str, table: Table | str, manifest: dict | None = None) -> list[str]:
    """The files a reader should read: those of the last commit, plus streaming window files (final the moment
    they appear). An output written before manifests existed is read as it lies."""
    t = _table(table)
    manifest = manifest if manifest is not None else load_manifest(root)
    present = listed_files(root, t)
    if manifest is None:
        return present
    listed = set(manifest["tables"].get(t.name, []))
    for run in manifest["runs"].values():
        listed.update(run["files"].get(t.name, []))
    return sorted(p for p in present if _rel(root, p) in listed or is_window_file(p))


def read_table(root: str, table: Table | str, columns: list[str] | None = None,
               manifest: dict | None = None) -> pa.Table | None:
    """A committed table as one Arrow table (None when it has no files)."""
    return _rows_of(committed_files(root, table, manifest), columns)


def read_files(root: str, table: Table | str, columns: list[str] | None = None, manifest: dict | None = None):
    """A committed table file by file (Arrow tables), for readers that keep a few rows of a large table."""
    for path in committed_files(root, table, manifest):
        yield _rows_of([path], columns)


def read_rows(root: str, table: Table | str, columns: list[str] | None = None,
              manifest: dict | None = None) -> list[dict]:
    t = read_table(root, table, columns, manifest)
    return t.to_pylist() if t is not None else []


def partition_dir(root: str, path: str) -> str:
    """A file's partition directory relative to its table ('' for a file at the table's top)."""
    rel = _rel(root, path)
    for t in ALL_TABLES.values():
        if rel.startswith(t.name + "/"):
            return posixpath.dirname(rel[len(t.name) + 1:])
    return ""


def index_files_by_partition(root: str, manifest: dict | None = None) -> dict[str, list[str]]:
    """The committed story index files by partition; '' holds files at the table's top (an index written before
    it was partitioned), which every run reads and whose rows its commit moves into partitions."""
    out: dict[str, list[str]] = {}
    for path in committed_files(root, STORY_INDEX, manifest):
        out.setdefault(partition_dir(root, path), []).append(path)
    return out


# --- the lock --------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def writer_lock(root: str):
    """Exclusive right to commit into `root`, for the life of the block. Local directories use flock, which the
    kernel drops when the holder dies (SIGKILL included), so a crash never leaves a stale lock. On object stores
    there is no lock: run one writer at a time (docs/schema.md)."""
    if not is_local(root):
        yield
        return
    import fcntl
    os.makedirs(root, exist_ok=True)
    fd = os.open(os.path.join(root, LOCK), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
            raise DatasetLocked(f"{root} is being written by another claimwire process ({holder}); wait for it "
                                "to finish or give another --output") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {dt.datetime.now(dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


# --- commit ----------------------------------------------------------------------------------------------------

def _rows_of(paths: list[str], columns: list[str] | None = None) -> pa.Table | None:
    """The rows of these Parquet files as one Arrow table (None for no files)."""
    parts = []
    for path in paths:
        try:
            with FileSystems.open(path) as f:
                pf = pq.ParquetFile(f)
                present = pf.schema_arrow.names
                part = pf.read(columns=[c for c in columns if c in present] if columns is not None else None)
        except (pa.ArrowException, EOFError) as e:
            # never skipped: a run that went on without these rows could rewrite what depends on them
            raise DatasetCorrupt(f"{path} is committed output but no readable Parquet ({e}); restore it from a "
                                 "copy, or move it out of the directory to go on without its rows") from e
        for c in columns or ():
            if c not in present:  # a column newer than this file: nulls
                part = part.append_column(c, pa.nulls(part.num_rows))
        parts.append(part.select(columns) if columns is not None else part)
    # files of an earlier schema version lack the newer nullable columns: unify by name, nulls where missing
    return (pa.concat_tables(parts, promote_options="default") if len(parts) > 1 else parts[0]) if parts else None


def write_arrow(path: str, table: pa.Table) -> None:
    """One Parquet file, written under a temporary name and renamed: readers never see half a file."""
    tmp = path + ".inprogress"
    with FileSystems.create(tmp) as f:
        pq.write_table(table, f, compression="zstd")
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


def _move(src: str, dst: str) -> None:
    if not FileSystems.exists(src):
        return  # moved before a crash: the journal is replayed
    if is_local(dst):
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.replace(src, dst)
        return
    if FileSystems.exists(dst):
        FileSystems.delete([dst])
    FileSystems.rename([src], [dst])


def _delete(path: str) -> None:
    if FileSystems.exists(path):
        FileSystems.delete([path])


# The tables whose schema versions are part of a run's id: appended tables that a run fills with rows.
RUN_VERSIONED = (ARTICLES, CLAIMS, ERRORS)


def run_id_of(staging: str) -> str | None:
    """The run's id: a hash of the article and error ids it read and of the schema versions it wrote (None when
    it read nothing). The same input gives the same id whatever the order, batching or runner. The same input
    under a new schema version (claims.v1 → claims.v2) is another run: it adds rows instead of replacing the
    earlier run's files, so nothing an earlier version wrote is lost."""
    keys = []
    for table in (ARTICLES, ERRORS):
        rows = _rows_of(listed_files(staging, table), [table.key])
        if rows is not None:
            keys += [f"{table.name}:{k}" for k in rows.column(table.key).to_pylist()]
    versions = sorted(t.version for t in RUN_VERSIONED)
    return stable_id("run", *versions, *sorted(set(keys)), size=16) if keys else None


def _plan_appended(root: str, staging: str, manifest: dict, run_id: str, table: Table,
                   moves: list, files: list) -> int:
    """Filters the staged files of one appended table against keys other runs committed, writes what remains under
    final names in staging (moves), and returns the rows kept."""
    others = [join(root, rel) for rid, run in manifest["runs"].items() if rid != run_id
              for rel in run["files"].get(table.name, []) if FileSystems.exists(join(root, rel))]  # one moved aside
    others += [p for p in listed_files(root, table) if is_window_file(p)]
    taken = _rows_of(others, [table.key])
    taken = set(taken.column(table.key).to_pylist()) if taken is not None else set()
    kept_rows = 0
    for path in listed_files(staging, table):
        rel = _rel(staging, path)
        directory, name = posixpath.split(rel)
        arrow = _rows_of([path])
        if taken:
            mask = pa.array([k not in taken for k in arrow.column(table.key).to_pylist()], type=pa.bool_())
            arrow = arrow.filter(mask)
        if arrow.num_rows == 0:
            continue
        final_rel = posixpath.join(directory, f"run-{run_id}-{name}")
        ready = join(staging, "_final", final_rel)
        write_arrow(ready, arrow)
        moves.append([ready, join(root, final_rel)])
        files.append(final_rel)
        kept_rows += arrow.num_rows
    return kept_rows


def adopt_unmanaged(root: str, manifest: dict) -> None:
    """An output written before manifests existed: its appended files become one run ("unmanaged") instead of
    disappearing from view at the first commit."""
    files = {t.name: [_rel(root, p) for p in listed_files(root, t)] for t in APPENDED}
    files = {k: v for k, v in files.items() if v}
    if files:
        manifest["runs"]["unmanaged"] = {"sequence": 0, "inputs": [], "rows": {}, "files": files}


def _keep_one_file(root: str, staging: str, manifest: dict, table: Table, moves: list, deletes: list) -> None:
    """A table with no rows anywhere keeps one empty file, so readers' globs never fail; it goes with the first
    run that brings rows."""
    placeholder = posixpath.join(table.name, *([f"{PARTITION_COLUMN}={UNDATED}"] if table.name in PARTITIONED
                                               else []), file_name("empty", 0, 1))
    has_rows = any(run["files"].get(table.name) for run in manifest["runs"].values())
    if has_rows:
        if placeholder in manifest["tables"].pop(table.name, []):
            deletes.append(join(root, placeholder))
        return
    ready = join(staging, "_final", placeholder)
    write_arrow(ready, to_table(table, []))
    moves.append([ready, join(root, placeholder)])
    manifest["tables"][table.name] = [placeholder]


def _key_values(paths: list[str], columns: list[str]) -> list[tuple]:
    t = _rows_of(paths, columns)
    return list(zip(*(t.column(c).to_pylist() for c in columns))) if t is not None else []


def replaced_index_files(root: str, staging: str, manifest: dict) -> list[str]:
    """The committed story index files a commit of `staging` replaces: those of the partitions it staged (the run
    read each of them whole and wrote every row back, changed or not) and those at the table's top (read by every
    run, their rows now in partitions). Files of the partitions a run did not reach stay as they are. Files present
    but not committed (a killed run's leftovers) in those partitions go too."""
    staged = {partition_dir(staging, p) for p in listed_files(staging, STORY_INDEX)}
    committed = set(committed_files(root, STORY_INDEX, manifest))
    return [p for p in listed_files(root, STORY_INDEX)
            if partition_dir(root, p) in staged or partition_dir(root, p) == ""
            or (p not in committed and not is_window_file(p))]


def changed_articles(root: str, staging: str, manifest: dict, run_id: str | None) -> list[str] | None:
    """The article ids whose derived rows (stories, story_claims) this commit may change: the run's articles and
    claims (and those of its previous files, when the same input ran before), and every article whose story
    index row is new or names another story. None when there is nothing derived yet (a full rebuild)."""
    if not any(listed_files(root, t) for t in DERIVED):
        return None
    ids = {k for (k,) in _key_values(listed_files(staging, ARTICLES), ["article_id"])}
    ids |= {k for (k,) in _key_values(listed_files(staging, CLAIMS), ["article_id"])}
    for name, rels in manifest["runs"].get(run_id, {}).get("files", {}).items() if run_id else ():
        if name in (ARTICLES.name, CLAIMS.name):
            ids |= {k for (k,) in _key_values([join(root, r) for r in rels], ["article_id"])}
    staged_index = listed_files(staging, STORY_INDEX)
    if staged_index:
        columns = ["article_id", "story_id", "thread_id"]
        old = {a: rest for a, *rest in _key_values(replaced_index_files(root, staging, manifest), columns)}
        ids |= {a for a, *rest in _key_values(staged_index, columns) if old.get(a) != rest}
    return sorted(ids)


def plan_commit(root: str, staging: str, inputs: list[str] | None = None, now: dt.datetime | None = None,
                components: dict | None = None, shard: str | None = None) -> dict:
    """The journal of committing `staging` into `root`: files to move, files to delete, the new manifest (whose run
    entry records `components`: the versioned parts that made its rows, claimcore/components.py). `shard`: the key
    of the input shard this run processed (pipeline/shards.py), recorded in the manifest's "shards" with this
    commit, so that a later command skips it."""
    manifest = load_manifest(root) or empty_manifest()
    now = now or dt.datetime.now(dt.timezone.utc)
    new = json.loads(json.dumps(manifest))
    if not manifest["runs"] and load_manifest(root) is None:
        adopt_unmanaged(root, new)
    new["sequence"] = manifest["sequence"] + 1
    new["committed_at"] = now.isoformat()
    moves, deletes = [], []
    run_id = run_id_of(staging)
    rows = {}
    changed = changed_articles(root, staging, manifest, run_id)
    if run_id:
        files: list[str] = []
        for table in APPENDED:
            rows[table.name] = _plan_appended(root, staging, manifest, run_id, table, moves, files)
        previous = manifest["runs"].get(run_id, {}).get("files", {})
        by_table = {t.name: sorted(f for f in files if f.split("/", 1)[0] == t.name) for t in APPENDED}
        for name, old in previous.items():
            deletes += [join(root, rel) for rel in old if rel not in by_table.get(name, [])]
        new["runs"][run_id] = {"sequence": new["sequence"], "committed_at": now.isoformat(), "inputs": inputs or [],
                               "rows": rows, "files": {k: v for k, v in by_table.items() if v},
                               "components": components or {}}
    if shard:
        new.setdefault("shards", {})[shard] = {"sequence": new["sequence"], "run_id": run_id}
    for table in STATE:
        staged = listed_files(staging, table)
        if not staged:
            continue
        names = [_rel(staging, p) for p in staged]
        moves += [[p, join(root, rel)] for p, rel in zip(staged, names)]
        replaced = replaced_index_files(root, staging, manifest) if table is STORY_INDEX else listed_files(root, table)
        deletes += [p for p in replaced if _rel(root, p) not in names]
        gone = {_rel(root, p) for p in replaced}
        kept = [rel for rel in manifest["tables"].get(table.name, []) if rel not in gone and rel not in names] \
            if table is STORY_INDEX else []
        new["tables"][table.name] = sorted(kept + names)
    for table in DERIVED:
        new["tables"][table.name] = [f"{table.name}/{file_name('', 0, 1)}"]
    for table in APPENDED:
        _keep_one_file(root, staging, new, table, moves, deletes)
    return {"format": FORMAT, "run_id": run_id, "staging": staging, "moves": moves, "deletes": deletes,
            "manifest": new, "rebuild": True, "changed_articles": changed}


def apply_journal(root: str, journal: dict, derive) -> None:
    """Steps 3.. of a commit; each is idempotent, so a replay after a crash finishes the commit."""
    for src, dst in journal["moves"]:
        _move(src, dst)
    for path in journal["deletes"]:
        _delete(path)
    manifest = journal["manifest"]
    if journal.get("rebuild") and derive is not None:
        derived = derive(root, manifest, journal.get("changed_articles"))
        for table in DERIVED:
            if table.name not in derived:
                continue
            keep = join(root, manifest["tables"][table.name][0])
            rows = derived[table.name]
            write_arrow(keep, rows if isinstance(rows, pa.Table) else to_table(table, rows))
            for path in listed_files(root, table):
                if path != keep:
                    _delete(path)
    _write_json(join(root, MANIFEST), manifest)
    _delete(join(root, JOURNAL))
    if journal.get("staging"):
        remove_tree(journal["staging"])
        if is_local(root):
            with contextlib.suppress(OSError):
                os.rmdir(join(root, STAGING))  # only when no other attempt's directory is in it


def commit(root: str, staging: str, derive=None, inputs: list[str] | None = None,
           components: dict | None = None, shard: str | None = None) -> dict:
    """Commits a run's staged files (under the writer lock). `derive(root, manifest, changed_article_ids)` returns
    {table name: rows or an Arrow table} for the derived tables, rebuilt from the committed data (wholly when
    changed_article_ids is None). Returns the journal (its manifest is now the committed one)."""
    journal = plan_commit(root, staging, inputs, components=components, shard=shard)
    _write_json(join(root, JOURNAL), journal)  # from here on the commit happens, now or at the next start
    apply_journal(root, journal, derive)
    return journal


def recover(root: str, derive=None) -> bool:
    """Finishes a commit a killed process left half done, and removes abandoned staging directories. Returns
    whether a commit was rolled forward."""
    journal = _read_json(join(root, JOURNAL))
    rolled = False
    if journal is not None:
        apply_journal(root, journal, derive)
        rolled = True
    else:
        _delete(join(root, JOURNAL + ".tmp"))
    remove_tree(join(root, STAGING))
    return rolled


def remove_tree(path: str) -> None:
    if is_local(path):
        import shutil
        shutil.rmtree(path, ignore_errors=True)
        return
    try:
        if FileSystems.exists(path):
            FileSystems.delete([path])
    except Exception:  # noqa: BLE001 - an abandoned staging prefix is harmless to readers
        pass


# --- compaction ------------------------------------------------------------------------------------------------

def plan_compaction(root: str) -> dict | None:
    """Merges each partition's committed files of the appended tables (many small ones after --follow cycles or
    streaming windows) into one file owned by a compaction run. None when there is nothing to merge."""
    manifest = load_manifest(root) or empty_manifest()
    new = json.loads(json.dumps(manifest))
    moves, deletes = [], []
    staging = staging_dir(root)
    merged_any = False
    for table in APPENDED:
        by_partition: dict[str, list[str]] = {}
        for path in committed_files(root, table, manifest):
            rel = _rel(root, path)
            by_partition.setdefault(posixpath.dirname(rel), []).append(rel)
        for directory, rels in sorted(by_partition.items()):
            if len(rels) < 2:
                continue
            merged_any = True
            arrow = _rows_of([join(root, r) for r in rels])
            keys = arrow.column(table.key).to_pylist()
            first = {}
            for i, k in enumerate(keys):
                first.setdefault(k, i)
            arrow = arrow.take(sorted(first.values(), key=lambda i: keys[i]))
            compact_id = stable_id("compact", *rels, size=16)
            final_rel = posixpath.join(directory, f"run-{compact_id}-{file_name('', 0, 1)}")
            ready = join(staging, "_final", final_rel)
            write_arrow(ready, arrow)
            moves.append([ready, join(root, final_rel)])
            deletes += [join(root, r) for r in rels if r != final_rel]
            gone = set(rels)
            for run in new["runs"].values():
                run["files"][table.name] = [f for f in run["files"].get(table.name, []) if f not in gone]
            run = new["runs"].setdefault(compact_id, {"sequence": manifest["sequence"] + 1, "inputs": [],
                                                      "rows": {}, "files": {}, "compacted": True})
            run["files"].setdefault(table.name, []).append(final_rel)
            run["rows"][table.name] = run["rows"].get(table.name, 0) + arrow.num_rows
    if not merged_any:
        remove_tree(staging)
        return None
    for rid in [rid for rid, run in new["runs"].items() if not any(run["files"].values())]:
        new.setdefault("compacted_runs", []).append(rid)
        del new["runs"][rid]
    new["sequence"] = manifest["sequence"] + 1
    new["committed_at"] = dt.datetime.now(dt.timezone.utc).isoformat()
    return {"format": FORMAT, "run_id": None, "staging": staging, "moves": moves, "deletes": deletes,
            "manifest": new, "rebuild": False}


def compact(root: str) -> dict | None:
    journal = plan_compaction(root)
    if journal is None:
        return None
    _write_json(join(root, JOURNAL), journal)
    apply_journal(root, journal, None)
    return journal
