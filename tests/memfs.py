"""An object store for tests: Beam FileSystem `memfs://` over a dict, with object-store semantics (no
directories, rename = copy then delete, no locks), standing in for gs:// and s3://, which this machine cannot
reach. Importing this module registers the scheme with Beam's FileSystems (it finds FileSystem subclasses)."""
from __future__ import annotations

import fnmatch
import io
import threading
import time

from apache_beam.io.filesystem import BeamIOError, FileMetadata, FileSystem

OBJECTS: dict[str, bytes] = {}
_LOCK = threading.Lock()
RENAMES = []  # (source, destination) of every rename: object stores have no atomic rename


class _Writer(io.BytesIO):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def close(self):
        if not self.closed:
            with _LOCK:
                OBJECTS[self.path] = self.getvalue()
        super().close()


class MemFileSystem(FileSystem):
    @classmethod
    def scheme(cls):
        return "memfs"

    def join(self, basepath, *paths):
        out = basepath.rstrip("/")
        for p in paths:
            out += "/" + p.strip("/")
        return out

    def split(self, path):
        head, _, tail = path.rstrip("/").rpartition("/")
        return head, tail

    def mkdirs(self, path):
        pass

    def has_dirs(self):
        return False

    def _list(self, dir_or_prefix):
        with _LOCK:
            items = sorted(OBJECTS.items())
        for path, data in items:
            if path.startswith(dir_or_prefix):
                yield FileMetadata(path, len(data), time.time())

    def match(self, patterns, limits=None):
        from apache_beam.io.filesystem import MatchResult
        results = []
        with _LOCK:
            paths = sorted(OBJECTS)
        for pattern in patterns:
            found = [FileMetadata(p, len(OBJECTS[p]), time.time()) for p in paths if fnmatch.fnmatchcase(p, pattern)
                     and p.count("/") == pattern.count("/")]
            results.append(MatchResult(pattern, found))
        return results

    def create(self, path, mime_type="application/octet-stream", compression_type=None):
        return _Writer(path)

    def open(self, path, mime_type="application/octet-stream", compression_type=None):
        with _LOCK:
            if path not in OBJECTS:
                raise BeamIOError(f"no object {path}", {path: FileNotFoundError(path)})
            return io.BytesIO(OBJECTS[path])

    def copy(self, source_file_names, destination_file_names):
        with _LOCK:
            for s, d in zip(source_file_names, destination_file_names):
                OBJECTS[d] = OBJECTS[s]

    def rename(self, source_file_names, destination_file_names):
        for s, d in zip(source_file_names, destination_file_names):
            RENAMES.append((s, d))
            self.copy([s], [d])
            self.delete([s])

    def exists(self, path):
        with _LOCK:
            return path in OBJECTS or any(p.startswith(path.rstrip("/") + "/") for p in OBJECTS)

    def size(self, path):
        return len(OBJECTS[path])

    def last_updated(self, path):
        return time.time()

    def checksum(self, path):
        return str(hash(OBJECTS[path]))

    def metadata(self, path):
        return FileMetadata(path, len(OBJECTS[path]), time.time())

    def delete(self, paths):
        with _LOCK:
            for p in paths:
                prefix = p.rstrip("/") + "/"
                for key in [k for k in OBJECTS if k == p or k.startswith(prefix)]:
                    del OBJECTS[key]
