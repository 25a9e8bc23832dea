"""claimwire's pipeline stages, one module per stage.

Importing this package first drops one known line of third-party noise in every process that runs stages (the
command, worker processes, the extraction child): Beam warns on import that the BigQuery client libraries,
which claimwire does not use, are missing.
"""
import logging as _logging


class KnownNoise(_logging.Filter):
    NOISE = ("apitools not found",)

    def filter(self, record: _logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.NOISE)


if not any(isinstance(f, KnownNoise) for f in _logging.getLogger().filters):
    _logging.getLogger().addFilter(KnownNoise())
