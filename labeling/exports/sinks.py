"""Incremental file writers: JSON lines and Parquet in bounded row groups; a sink with no rows still leaves its
file (empty JSON lines, or a Parquet file holding only the schema), so every split of an export has a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

PARQUET_ROW_GROUP = 20_000
_MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
_ARROW_TYPES = {"string": pa.string(), "float64": pa.float64(), "int64": pa.int64(), "messages": _MESSAGES}


class JsonlSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._file = None

    def write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            self._file = open(  # noqa: SIM115 (kept open across write() calls; closed by close())
                self.path, "w", encoding="utf-8", newline="\n", buffering=1 << 20
            )
        self._file.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        self._file.write("\n")
        self.rows += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        elif not self.path.exists():
            self.path.touch()


class ParquetSink:
    """Buffers at most one row group of column values, so memory does not grow with the export."""

    def __init__(self, path: Path, columns: list[tuple[str, str]], row_group: int = PARQUET_ROW_GROUP) -> None:
        self.path = path
        self.rows = 0
        self._schema = pa.schema([(name, _ARROW_TYPES[kind]) for name, kind in columns])
        self._names = [name for name, _ in columns]
        self._buffer: dict[str, list] = {name: [] for name in self._names}
        self._row_group = row_group
        self._writer: pq.ParquetWriter | None = None

    def write(self, record: dict[str, Any]) -> None:
        for name in self._names:
            self._buffer[name].append(record[name])
        self.rows += 1
        if len(self._buffer[self._names[0]]) >= self._row_group:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer[self._names[0]]:
            return
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self._schema, compression="zstd")
        self._writer.write_table(pa.Table.from_pydict(self._buffer, schema=self._schema))
        self._buffer = {name: [] for name in self._names}

    def close(self) -> None:
        self._flush()
        if self._writer is None and not self.path.exists():
            self._writer = pq.ParquetWriter(self.path, self._schema, compression="zstd")
        if self._writer is not None:
            self._writer.close()
            self._writer = None
