"""Write ``handler/aws/data/`` from the installed botocore: ``python -m handler.aws.trim``.

Run it (``make aws-models``) after changing the pinned botocore or :data:`OPERATIONS`;
``tests/test_aws_models.py`` fails while the committed files differ from what this writes.
What goes in, and why, is in :mod:`handler.aws.models`.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import Any

from handler.aws.models import CREDENTIAL_SERVICES, DATA_DIR, OPERATIONS


def botocore_data_dir() -> Path:
    """The data directory of the botocore this interpreter imports."""
    import botocore

    return Path(botocore.__file__).resolve().parent / "data"


def read_json(path_without_suffix: Path) -> Any:
    """``<path>.json``, or ``<path>.json.gz`` as newer botocore ships most files."""
    plain = path_without_suffix.with_name(path_without_suffix.name + ".json")
    if plain.exists():
        return json.loads(plain.read_text(encoding="utf-8"))
    with gzip.open(plain.with_name(plain.name + ".gz"), "rt", encoding="utf-8") as compressed:
        return json.load(compressed)


def latest_version(source: Path, service: str) -> str:
    """The newest API version that has a service model, as botocore chooses it."""
    versions = [
        d.name
        for d in (source / service).iterdir()
        if d.is_dir() and (any((d / f"service-2.json{suffix}").exists() for suffix in ("", ".gz")))
    ]
    return max(versions)


def _without_documentation(value: Any) -> Any:
    if isinstance(value, dict):
        # a string: the prose; a member that happens to be called "documentation" is a dict, and stays
        return {
            k: _without_documentation(v)
            for k, v in value.items()
            if not (k == "documentation" and isinstance(v, str))
        }
    if isinstance(value, list):
        return [_without_documentation(v) for v in value]
    return value


def reachable_shapes(shapes: dict[str, Any], roots: list[str]) -> set[str]:
    """Every shape name reachable from ``roots`` through members, list members and map keys/values."""
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        shape = shapes[name]
        pending.extend(member["shape"] for member in shape.get("members", {}).values())
        pending.extend(shape[key]["shape"] for key in ("member", "key", "value") if key in shape)
    return seen


def trimmed_model(model: dict[str, Any], operations: tuple[str, ...]) -> dict[str, Any]:
    """``model`` with only ``operations`` and the shapes they reach, documentation dropped."""
    missing = sorted(set(operations) - set(model["operations"]))
    if missing:
        raise SystemExit(f"{model['metadata']['serviceId']} has no operation(s) {', '.join(missing)}")
    kept = {name: op for name, op in model["operations"].items() if name in operations}
    roots = [op[key]["shape"] for op in kept.values() for key in ("input", "output") if key in op]
    roots += [error["shape"] for op in kept.values() for error in op.get("errors", [])]
    names = reachable_shapes(model["shapes"], roots)
    shapes = {name: shape for name, shape in model["shapes"].items() if name in names}
    trimmed = {**model, "operations": kept, "shapes": shapes}
    return _without_documentation(trimmed)  # type: ignore[no-any-return]


def trimmed_endpoints(endpoints: dict[str, Any]) -> dict[str, Any]:
    """``endpoints.json`` with only the entries of our services and the credential services."""
    keep = set(OPERATIONS) | set(CREDENTIAL_SERVICES)
    partitions = [
        {**partition, "services": {k: v for k, v in partition["services"].items() if k in keep}}
        for partition in endpoints["partitions"]
    ]
    return {**endpoints, "partitions": partitions}


def with_extras(model: dict[str, Any], version_dir: Path) -> dict[str, Any]:
    """``model`` with botocore's "sdk-extras" merged in, as its loader merges them when it loads the
    model (the trimmed data is loaded without that step, so it is done here, once)."""
    from botocore.loaders import ExtrasProcessor, Loader

    extras = [
        json.loads(path.read_text(encoding="utf-8"))
        for extras_type in Loader().extras_types
        if (path := version_dir / f"service-2.{extras_type}-extras.json").exists()
    ]
    ExtrasProcessor().process(model, extras)
    return model


def generate(source: Path) -> dict[str, str]:
    """Every file of the data directory, by path relative to it, as text."""

    def dump(value: Any) -> str:
        return json.dumps(value, indent=1, ensure_ascii=False) + "\n"

    files = {"endpoints.json": dump(trimmed_endpoints(read_json(source / "endpoints")))}
    for service, operations in OPERATIONS.items():
        version = latest_version(source, service)
        model = with_extras(read_json(source / service / version / "service-2"), source / service / version)
        files[f"{service}/{version}/service-2.json"] = dump(trimmed_model(model, operations))
    return files


def write(files: dict[str, str], target: Path = DATA_DIR) -> list[str]:
    """Make ``target`` hold exactly ``files``; return the paths that changed (written or removed)."""
    changed = []
    for relative, text in files.items():
        path = target / relative
        if path.is_file() and path.read_bytes() == text.encode("utf-8"):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        changed.append(relative)
    for path in sorted(p for p in target.rglob("*") if p.is_symlink() or p.is_file()):
        if str(path.relative_to(target)) not in files:
            path.unlink()  # a link is removed, never what it points at
            changed.append(str(path.relative_to(target)))
    for directory in sorted(
        (p for p in target.rglob("*") if p.is_dir() and not p.is_symlink()), reverse=True
    ):
        if not any(directory.iterdir()):
            directory.rmdir()
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m handler.aws.trim", description=__doc__.splitlines()[0])
    parser.parse_args()
    import botocore

    files = generate(botocore_data_dir())
    changed = write(files)
    size = sum(len(text.encode()) for text in files.values())
    summary = f"{len(files)} files ({size:,} bytes) from botocore {botocore.__version__} in {DATA_DIR}"
    if changed:
        print(f"{summary}; rewritten: {', '.join(changed)} (review the diff)")
    else:
        print(f"{summary}; all up to date, nothing rewritten")


if __name__ == "__main__":
    main()
