"""The provenance manifest written next to every export's data files."""

from __future__ import annotations

import subprocess
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.conf import settings

from .models import Export
from .options import ExportRequest
from .pipeline import DatasetResult

MANIFEST_VERSION = 1


@lru_cache(maxsize=1)
def arbiter_version() -> dict[str, str | None]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"version": settings.SPECTACULAR_SETTINGS.get("VERSION", "unknown"), "git_commit": commit}


TIE_RULES = {
    "drop": "ties are dropped; no row is a tie",
    "separate": "tie rows are written to the separate ties file only (response_a/response_b, never chosen/rejected)",
    "soft": "ties are kept with the soft label 0.5",
}


def manifest_build(
    *, export: Export, request: ExportRequest, result: DatasetResult, finished_at: datetime,
    tokenizer: str | None = None, instruction_template: str = "",
) -> dict[str, Any]:  # fmt: skip
    tally = result.tally
    rows = sum(result.rows_per_split.values())
    return {
        "manifest_version": MANIFEST_VERSION,
        "export_id": export.id,
        "project": {"slug": export.project.slug, "name": export.project.name},
        "format": request.format,
        "request": request.as_dict(),
        "arbiter": arbiter_version(),
        "created_at": export.created_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "counts": {
            "rows": rows,
            "splits": {
                name: {"rows": result.rows_per_split[name], "prompts": result.prompts_per_split[name]}
                for name in result.rows_per_split
            },
            "pairs_read": tally.pairs,
            "judgments_read": tally.judgments,
            "dropped": dict(sorted(tally.dropped.items())),
            "tie_rows": result.tie_rows,
        },
        "ties": {"policy": request.ties, "rule": TIE_RULES[request.ties]},
        "layout": {
            "prompt_layout": request.prompt_layout,
            "style": request.style,
            "tokenizer": tokenizer,
            "instruction_template": instruction_template if request.prompt_layout == "chat" else None,
        },
        "agreement": {
            "pairs_by_level": {
                level: tally.agreement.get(level, 0) for level in ("unanimous", "majority", "single", "split")
            },
            "unanimous_fraction": round(tally.agreement.get("unanimous", 0) / tally.pairs, 6) if tally.pairs else None,
        },
        "policies": [{"name": name, "pairs": count} for name, count in sorted(result.policies.items())],
        "labelers": "pseudonymised: w_ + HMAC-SHA256(per-project key, user id)[:16]; no names or e-mails",
        "split_rule": "SHA-256(seed, prompt content hash) -> uniform draw -> train/validation/test by fraction",
        "files": result.files,
    }
