"""Reporting-regime data files: one YAML file per regime version, named ``<id>_<version>.yaml``.

Adding a regime is adding a file here (and its tests); the engine names no regime in code.
"""

from pathlib import Path

REGIMES_DIR: Path = Path(__file__).resolve().parent
