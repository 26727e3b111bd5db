"""The statistics package stays importable without Django, so it runs on a box with no database."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import labeling.stats

REPO_ROOT = Path(__file__).resolve().parents[3]
MODULES = sorted(module.name for module in pkgutil.iter_modules(labeling.stats.__path__))


def test_importing_every_stats_module_loads_no_django():
    assert {"agreement", "consensus", "intervals", "votes"} <= set(MODULES)
    imports = "; ".join(f"import labeling.stats.{name}" for name in MODULES)
    code = f"import sys; {imports}; import rewards.metrics; print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
