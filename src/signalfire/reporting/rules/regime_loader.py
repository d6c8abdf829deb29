"""Load regime files, report errors by file and line, and pick the version in force.

Validation is pydantic's (``regime_schema``); this module maps each error's location back to the YAML
node it came from (``yaml.compose`` keeps start marks), so an author sees ``file:line: message``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError

from signalfire.reporting.regimes import REGIMES_DIR
from signalfire.reporting.rules.regime_schema import ReferenceIssues, Regime

# libyaml's loader is ~10x faster; marks (for file:line errors) work the same.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Loc = Sequence[str | int]


class RegimeFileError(Exception):
    """A regime file that cannot be used. ``issues`` lists every (line, message) found; ``line`` and
    ``message`` are the first of them."""

    def __init__(self, path: Path, issues: Sequence[tuple[int, str]]) -> None:
        self.path = path
        self.issues = list(issues)
        self.line, self.message = self.issues[0]
        more = f" (and {len(self.issues) - 1} more)" if len(self.issues) > 1 else ""
        super().__init__(f"{path}:{self.line}: {self.message}{more}")


def load_regime(path: Path | str) -> Regime:
    """Parse and validate one regime file."""
    regime, _ = _load_with_nodes(Path(path))
    return regime


def load_all(folder: Path | str | None = None) -> dict[str, list[Regime]]:
    """Every ``*.yaml`` file in ``folder`` (default: the packaged regimes), grouped by regime id, each
    group's versions sorted by effective date. Also checks file names (``<id>_<version>.yaml``),
    duplicate versions, and overlapping effective periods between versions of one regime."""
    root = Path(folder) if folder is not None else REGIMES_DIR
    loaded = [(path, *_load_with_nodes(path)) for path in sorted(root.glob("*.yaml"))]
    groups: dict[str, list[tuple[Path, Regime, yaml.Node]]] = {}
    for path, regime, node in loaded:
        if path.stem != f"{regime.id}_{regime.version}":
            raise RegimeFileError(
                path, [(_line_for(node, ("id",)), f"file name must be {regime.id}_{regime.version}.yaml")]
            )
        groups.setdefault(regime.id, []).append((path, regime, node))
    result: dict[str, list[Regime]] = {}
    for regime_id in sorted(groups):
        versions = sorted(
            groups[regime_id], key=lambda t: (t[1].effective_from is None, t[1].effective_from, t[1].version)
        )
        _check_versions(versions)
        result[regime_id] = [r for _, r, _ in versions]
    return result


def regime_in_force(
    regimes: Mapping[str, Sequence[Regime]], regime_id: str, at: datetime, *, include_disabled: bool = False
) -> Regime | None:
    """The version of ``regime_id`` in force at ``at`` (read as a date in the regime's time zone), or
    None. Apply the version in force when the clock started (regimes.md section 8). Disabled files
    (proposals, texts kept for audit) are skipped unless ``include_disabled``."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    chosen: Regime | None = None
    for regime in regimes.get(regime_id, ()):
        if not (regime.enabled or include_disabled):
            continue
        if regime.in_force_on(at.astimezone(ZoneInfo(regime.time_zone)).date()):
            chosen = regime  # versions are sorted, so the latest in force wins
    return chosen


def _check_versions(versions: Sequence[tuple[Path, Regime, yaml.Node]]) -> None:
    seen: dict[str, Path] = {}
    for path, regime, node in versions:
        if regime.version in seen:
            raise RegimeFileError(
                path,
                [(_line_for(node, ("version",)), f"version {regime.version} also in {seen[regime.version]}")],
            )
        seen[regime.version] = path
    dated = [v for v in versions if v[1].effective_from is not None]
    for (prev_path, prev, _), (path, regime, node) in itertools.pairwise(dated):
        if prev.effective_to is None or (
            regime.effective_from is not None and regime.effective_from < prev.effective_to
        ):
            raise RegimeFileError(
                path,
                [
                    (
                        _line_for(node, ("effective_from",)),
                        f"effective period overlaps version {prev.version} in {prev_path.name}; set its effective_to",
                    )
                ],
            )


def _load_with_nodes(path: Path) -> tuple[Regime, yaml.Node]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegimeFileError(path, [(0, f"cannot read: {exc.strerror}")]) from exc
    try:
        node = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506 (a SafeLoader: the C one when libyaml is there)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise RegimeFileError(path, [(line, f"invalid YAML: {getattr(exc, 'problem', None) or exc}")]) from exc
    if node is None or not isinstance(data, dict):
        raise RegimeFileError(path, [(1, "a regime file is a YAML mapping")])
    duplicates = list(_duplicate_keys(node))
    if duplicates:
        raise RegimeFileError(path, duplicates)
    try:
        return Regime.model_validate(data), node
    except ValidationError as exc:
        raise RegimeFileError(path, sorted(_issues(exc, node))) from exc


def _issues(exc: ValidationError, node: yaml.Node) -> Iterator[tuple[int, str]]:
    for err in exc.errors():
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, ReferenceIssues):
            for sub_loc, msg in cause.issues:
                loc = (*err["loc"], *sub_loc)
                yield _line_for(node, loc), f"{_dotted(loc)}: {msg}"
            continue
        loc = err["loc"]
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown field {loc[-1]!r}"
        yield _line_for(node, loc), f"{_dotted(loc)}: {msg}"


def _dotted(loc: Loc) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "<file>"


def _line_for(node: yaml.Node, loc: Loc) -> int:
    """The 1-based line of the deepest node ``loc`` reaches. Parts that match no key are skipped: they
    are union tags pydantic adds to locations, or a missing key (then the parent's line is right)."""
    current = node
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(current, yaml.MappingNode) and isinstance(part, str):
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    line, current = key.start_mark.line + 1, value
                    break
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(current.value):
            current = current.value[part]
            line = current.start_mark.line + 1
    return line


def _duplicate_keys(node: yaml.Node) -> Iterator[tuple[int, str]]:
    # safe_load keeps the last of two equal keys without a word; a rule silently replaced is worse
    # than a rejected file.
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    yield key.start_mark.line + 1, f"duplicate key {key.value!r}"
                seen.add(key.value)
            yield from _duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item)
