"""Seeded mutation fuzzing of the ``critmin`` command line over the shipped example files.

Every case is one command line (``validate``, ``run``, ``exposure``, ``contract settle``,
``contract value``, ``stockpile simulate``/``ledger``, ``risk``, ``data``, ``trace ...``) whose
input file is a shipped example (``examples/`` or a built-in scenario) after one mutation:
a field deleted or added, a value of the wrong type, a number made negative, zero, NaN, inf
or 1e308, a number made a boolean (``true``, what YAML reads ``yes`` as) or a numeric string
(``"12"``, ``"1e3"``, ``"1,200"``), an impossible date, unicode, binary or latin-1 bytes, a
duplicated key, deep nesting, a YAML alias bomb, a directory or an unreadable path in place of
the file, a CSV field over the csv module's limit; or an option given a hostile value.

The contract every case is held to (issue 13): exit code 0 or 2 (1 only where the command
documents it: ``trace check``'s rule failure), never the catch-all's 70, at most one line on
stderr, within a time and memory budget. A NaN or an infinity written into a number of an
input file must be refused (exit 2), and so must a boolean or a string written in place of a
number of a YAML file (:class:`critmin.bounds.StrictNumbers`; not in EPCIS JSON-LD, whose
attributes take numeric strings by design).

Cases run in a worker subprocess (``python harness.py --worker``) that imports critmin once
and runs each case in-process through :func:`critmin.cli.main`; the parent gives each case a
wall-clock budget and kills and restarts the worker on a hang, and the worker runs under an
address-space limit, so a runaway case costs seconds, not the machine.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import math
import os
import random
import re
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
BUILTIN = REPO / "src" / "critmin" / "scenarios" / "builtin"

#: exit code of the CLI's catch-all for unexpected errors (a bug when a test reaches it)
UNEXPECTED = 70


@dataclass
class Case:
    """One command line over one (mutated) input; ``files`` are written before it runs.

    ``files`` maps a path relative to the case folder to bytes, or to ``"<dir>"`` (a folder
    where a file is expected), ``"<unreadable>"`` (mode 000; root reads it anyway) or
    ``"<fifo>"`` is not used (opening a FIFO blocks by design of the OS).
    """

    id: str
    argv: list[str]
    files: dict[str, bytes | str] = field(default_factory=dict)
    codes: tuple[int, ...] = (0, 2)
    must_refuse: bool = False  # a NaN/inf was put into a number: exit 2 expected
    budget_s: float = 20.0


@dataclass
class Outcome:
    case: Case
    code: int | None  # None: killed (hang or crash)
    stderr: str
    seconds: float
    note: str = ""
    litter: list[str] = field(default_factory=list)  # temp files or locks left behind

    def problems(self) -> list[str]:
        """What is wrong with this outcome (empty: the case keeps the contract)."""
        out: list[str] = []
        if self.code is None:
            out.append(self.note or "killed")
            return out
        if self.code == UNEXPECTED:
            out.append("reached the catch-all (a bug)")
        elif self.code not in self.case.codes:
            out.append(f"exit {self.code}")
        lines = [ln for ln in self.stderr.splitlines() if ln.strip()]
        if len(lines) > 1:
            out.append(f"{len(lines)} lines on stderr")
        if self.case.must_refuse and self.code == 0:
            out.append("accepted a non-finite number")
        if self.code == 2 and not lines:
            out.append("exit 2 without a message")
        if self.seconds > self.case.budget_s:
            out.append(f"took {self.seconds:.1f} s")
        if self.litter:
            out.append(f"left {', '.join(self.litter[:3])}")
        return out

    def describe(self) -> str:
        first = self.stderr.strip().splitlines()[-1:] or [""]
        return (
            f"{self.case.id}: {'; '.join(self.problems())} :: critmin "
            f"{' '.join(self.case.argv)} :: {first[0][:300]}"
        )


# --------------------------------------------------------------------------- mutations

NUMBERS: list[Any] = [
    -1,
    0,
    -0.0,
    float("nan"),
    float("inf"),
    float("-inf"),
    1e308,
    -1e308,
    1e-300,
    10**30,
    2**63,
    1e-6,
]
NON_FINITE = {"nan", "inf", "-inf"}
STRINGS: list[Any] = [
    "",
    "Ñandú ✓ 💥 \u202e",
    "=cmd|' /C calc'!A0",
    "2026-13-45",
    "2026-02-30",
    "2026-07-32",
    "0000-00",
    "0001-01",
    "9999-12",
    "x" * 2000,
    "\x00\x01",
    True,
    None,
    [],
    {},
    [1, 2, 3],
    {"nested": {"deeper": [None]}},
]


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every node path of plain YAML/JSON data (keys and indices), root excluded."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        data = data[p]
    return data


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _plain(data: Any) -> Any:
    if isinstance(data, dict):
        return {k if isinstance(k, str | int) else str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    if isinstance(data, int | float | str | bool) or data is None:
        return data
    return str(data)


#: what a number becomes in the "text" mutation: booleans (YAML's yes/no) and numeric strings,
#: which pydantic's lax mode read as 1.0/0.0 and 12 (issue 13)
NUMBER_TEXT: list[Any] = [True, False, "12", "1e3", "1,200", "0"]


def _number_text(old: Any, rng: random.Random) -> Any:
    new = rng.choice([*NUMBER_TEXT, "<same>"])
    return str(old) if new == "<same>" else new  # "<same>": the number itself, quoted


def number_text_refused(path: tuple[Any, ...]) -> bool:
    """Whether text put at ``path`` of a YAML file must be refused: every number of critmin's
    YAML formats is in a number field, except under the top-level ``x-`` keys (room for
    anchors that the models drop)."""
    return not str(path[0]).startswith("x-")


def mutate_data(data: Any, rng: random.Random) -> tuple[Any, str, bool]:
    """One structural mutation of plain data: ``(new data, label, must_refuse)``.

    ``must_refuse`` is for a YAML file; :func:`mutate_file` clears it for JSON-LD."""
    data = _plain(data)  # a deep copy, dates as strings
    paths = list(_paths(data))
    if not paths:
        return {"unknown_field": 1}, "replace-root", False
    numeric = [p for p in paths if _is_number(_get(data, p))]
    op = rng.choice(
        ["delete", "unknown", "wrongtype", "number", "number", "string", "deep", "text"]
    )
    path = rng.choice(numeric) if op in ("number", "text") and numeric else rng.choice(paths)
    parent = _get(data, path[:-1])
    key = path[-1]
    label_path = ".".join(str(p) for p in path)
    if op == "delete":
        del parent[key]
        return data, f"delete:{label_path}", False
    if op == "unknown":
        target = parent if isinstance(parent, dict) else _get(data, path)
        if isinstance(target, dict):
            target["nonsense_field_xyz"] = 1
        else:
            parent[key] = {"nonsense_field_xyz": 1}
        return data, f"unknown:{label_path}", False
    if op == "deep":  # a sentinel, replaced by flow-style nesting after dumping (no recursion)
        parent[key] = f"__DEEP_{rng.choice([50, 200, 400])}_{rng.choice('la')}__"
        return data, f"deep:{label_path}", False
    if op == "text":  # a number written as a boolean or a string
        old = parent[key]
        parent[key] = _number_text(old, rng)
        refuse = _is_number(old) and number_text_refused(path)
        return data, f"text:{label_path}={parent[key]!r}", refuse
    if op == "number" or (op == "wrongtype" and rng.random() < 0.4):
        new = rng.choice(NUMBERS)
        old = parent[key]
        parent[key] = new
        refuse = _is_number(old) and isinstance(new, float) and not math.isfinite(new)
        return data, f"number:{label_path}={new!r}", refuse
    parent[key] = rng.choice(STRINGS)
    return data, f"value:{label_path}={str(parent[key])[:20]!r}", False


_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper12(_Dumper):
    """Quotes a string that YAML 1.2 reads as a float (``"1e3"``): PyYAML's 1.1 rules would
    write it plain, and critmin's reader takes a plain ``1e3`` for the number 1000."""


_Dumper12.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$"),
    list("-+.0123456789"),
)
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=64)
def _source(path: Path) -> tuple[bytes, Any]:
    """The bytes of an example file and its parsed data (parsed once; copied per mutation)."""
    raw = path.read_bytes()
    if path.suffix in (".yaml", ".yml"):
        return raw, yaml.load(raw, Loader=_Loader)
    if path.suffix in (".json", ".jsonld"):
        return raw, json.loads(raw)
    return raw, None


_DEEP_RE = re.compile(r"'?__DEEP_(\d+)_([la])__'?")


def _deep(m: re.Match[str]) -> str:
    n = int(m[1])
    return "[" * n + "1" + "]" * n if m[2] == "l" else '{"a": ' * n + "1" + "}" * n


def dump_yaml(data: Any) -> bytes:
    text = yaml.dump(data, Dumper=_Dumper12, allow_unicode=True, sort_keys=False, width=10**6)
    return _DEEP_RE.sub(_deep, text).encode()


def dump_json(data: Any) -> bytes:
    return _DEEP_RE.sub(_deep, json.dumps(data, allow_nan=True)).encode()


def raw_mutation(text: bytes, rng: random.Random, kind: str) -> tuple[bytes | str, str]:
    """A byte-level or file-system mutation of a file of format ``kind`` (yaml/csv/json/xlsx)."""
    ops = ["latin1", "binary", "truncate", "bom", "crlf", "empty", "dir", "unreadable", "nul"]
    ops += ["loop"]
    if kind == "yaml":
        ops += ["dupkey", "alias_bomb", "deep_flow", "deep_block", "tab", "anchor_loop"]
    if kind == "csv":
        ops += ["bigfield", "baddate", "badnum", "extra_col", "no_header", "dup_row", "quote"]
    if kind == "json":
        ops += ["deep_flow", "dupkey_json", "nan_json"]
    op = rng.choice(ops)
    if op == "latin1":
        return text.decode("utf-8", "replace").replace("a", "\xe9", 3).encode(
            "latin-1", "replace"
        ), op
    if op == "binary":
        return bytes(rng.randrange(256) for _ in range(rng.choice([16, 512, 4096]))), op
    if op == "truncate":
        return text[: rng.randrange(max(1, len(text)))], op
    if op == "bom":
        return b"\xef\xbb\xbf" + text, op
    if op == "crlf":
        return text.replace(b"\n", b"\r\n"), op
    if op == "empty":
        return b"", op
    if op == "dir":
        return "<dir>", op
    if op == "unreadable":
        return "<unreadable>", op
    if op == "loop":
        return "<loop>", op
    if op == "nul":
        i = rng.randrange(max(1, len(text)))
        return text[:i] + b"\x00" + text[i:], op
    if op == "dupkey":
        lines = text.splitlines(keepends=True)
        tops = [i for i, ln in enumerate(lines) if ln[:1].isalpha() and b":" in ln]
        if tops:
            i = rng.choice(tops)
            lines.append(lines[i] if lines[i].endswith(b"\n") else lines[i] + b"\n")
        return b"".join(lines), op
    if op == "alias_bomb":
        bomb = b'x-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        for i, name in enumerate("bcdefghi"):
            prev = "abcdefghi"[i]
            bomb += f"x-{name}: &{name} [{','.join(['*' + prev] * 9)}]\n".encode()
        return bomb + text, op
    if op == "anchor_loop":
        return b"x-loop: &l [*l]\n" + text, op
    if op in ("deep_flow",):
        n = rng.choice([1000, 5000, 50_000])
        return b"[" * n + b"]" * n, f"{op}:{n}"
    if op == "deep_block":
        n = rng.choice([1000, 5000])
        return b"".join(b" " * i + b"a:\n" for i in range(n)) + b" " * n + b"1\n", f"{op}:{n}"
    if op == "tab":
        return text.replace(b"  ", b"\t", 2), op
    if op == "dupkey_json":
        return text.replace(b"{", b'{"type": "x", ', 1), op
    if op == "nan_json":
        return text.replace(b": 1", b": NaN", 3).replace(b": 2", b": Infinity", 3), op
    # csv
    lines = text.splitlines(keepends=True)
    header, body = (lines[0], lines[1:]) if lines else (b"", [])
    if op == "bigfield":
        return header + b'"' + b"x" * 140_000 + b'"' + b"," * header.count(b",") + b"\n", op
    if op == "quote":
        return header + b'"unterminated,1,2\n' + b"".join(body), op
    if op == "no_header":
        return b"".join(body), op
    if op == "extra_col":
        return b"".join(ln.rstrip(b"\r\n") + b",extra\n" for ln in lines), op
    if op == "dup_row":
        return header + b"".join(body) + (body[0] if body else b""), op
    if not body:
        return text, op
    i = rng.randrange(len(body))
    cells = body[i].rstrip(b"\r\n").split(b",")
    if op == "baddate":
        cells[0] = rng.choice([b"2026-07-32", b"2026-13", b"2026-02-30", b"26-1", b"9999-99-99"])
    else:  # badnum
        j = rng.randrange(1, len(cells)) if len(cells) > 1 else 0
        cells[j] = rng.choice([b"nan", b"inf", b"-inf", b"1e308", b"-1", b"1e999", b"0x10", b""])
    body[i] = b",".join(cells) + b"\n"
    return header + b"".join(body), f"{op}"


def mutate_file(path: Path, rng: random.Random) -> tuple[bytes | str, str, bool]:
    """One mutation of an example file, chosen by its format."""
    kind = {".yaml": "yaml", ".yml": "yaml", ".csv": "csv", ".jsonld": "json", ".json": "json"}
    fmt = kind.get(path.suffix, "xlsx")
    raw, data = _source(path)
    if fmt in ("yaml", "json") and rng.random() < 0.6:
        new, label, refuse = mutate_data(data, rng)
        if fmt == "yaml":
            return dump_yaml(new), label, refuse
        # EPCIS attributes take numeric strings (master data converted from XML holds them)
        return dump_json(new), label, refuse and not label.startswith("text:")
    content, label = raw_mutation(raw, rng, fmt)
    refuse = label == "badnum" and isinstance(content, bytes) and False
    return content, label, refuse


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """A command line over example files; ``{0}`` is the mutated input, ``{out}`` a folder."""

    name: str
    argv: tuple[str, ...]
    inputs: tuple[str, ...]  # example files (relative to the repo); the first may be mutated
    codes: tuple[int, ...] = (0, 2)
    budget_s: float = 20.0
    mutate: tuple[int, ...] = (0,)  # which inputs may be mutated


def _ex(*parts: str) -> str:
    return str(Path("examples", *parts))


_SCEN = [
    _ex("scenarios", "two_regions.yaml"),
    _ex("scenarios", "magnet_chain_tariff.yaml"),
    _ex("scenarios", "lithium_2035.yaml"),
    _ex("scenarios", "lithium_2035_no_projects.yaml"),
    _ex("scenarios", "managed_floor_130.yaml"),
    "src/critmin/scenarios/builtin/ndpr_baseline.yaml",
    "src/critmin/scenarios/builtin/ndpr_china_ban.yaml",
    "src/critmin/scenarios/builtin/ndpr_managed_market.yaml",
]

CONTRACTS = [_ex("contracts", "lynas_japan_ndpr.yaml"), _ex("contracts", "dod_mp_ndpr_floor.yaml")]
PRICES = _ex("contracts", "ndpr_prices_example.csv")
STOCKPILES = [_ex("stockpile", "project_vault.yaml"), _ex("stockpile", "dla_nds_2025.yaml")]
SIGNALS = _ex("stockpile", "signals_ban_2027.csv")
BOMS = [_ex("bom", "ev_traction_motor.yaml"), _ex("bom", "battery_pack_75kwh_nmc811.yaml")]
NETWORKS = [_ex("trace", "magnet_chain.jsonld"), _ex("trace", "magnet_chain_blend.jsonld")]
RULES = _ex("trace", "rules.yaml")
TEMPLATES = [_ex("trace", f) for f in ("cmrt_6.4_example.xlsx", "emrt_2.0_example.xlsx")]


def file_targets(include_run: bool) -> list[Target]:
    """Command lines whose first input file gets mutated."""
    t: list[Target] = []
    t += [Target("validate", ("validate", "{0}"), (s,)) for s in _SCEN]
    if include_run:
        t += [
            Target("run", ("run", "{0}", "--out", "{out}", "--json"), (s,), budget_s=60)
            for s in _SCEN[:2]
        ]
    t += [Target("exposure", ("exposure", "{0}", "--json"), (b,)) for b in BOMS]
    for c in CONTRACTS:
        t.append(
            Target(
                "settle",
                ("contract", "settle", "{0}", "--prices", "{1}", "--out", "{out}/s.csv", "--json"),
                (c, PRICES),
                mutate=(0, 1),
            )
        )
        t.append(
            Target(
                "value",
                (
                    "contract",
                    "value",
                    "{0}",
                    "--forward-usd-per-kg",
                    "120",
                    "--vol",
                    "0.3",
                    "--rate",
                    "0.04",
                    "--paths",
                    "2000",
                    "--json",
                ),
                (c,),
            )
        )
    for s in STOCKPILES:
        t.append(
            Target(
                "stockpile",
                ("stockpile", "simulate", "{0}", "--signals", "{1}", "--out", "{out}", "--json"),
                (s, SIGNALS),
                mutate=(0, 1),
            )
        )
    t += [Target("trace-import", ("trace", "import", "{0}", "--json"), (n,)) for n in NETWORKS]
    t += [Target("trace-import", ("trace", "import", "{0}", "--json"), (x,)) for x in TEMPLATES]
    t.append(
        Target(
            "trace-check",
            ("trace", "check", "{0}", "--rules", "{1}", "--on", "2027-06-01", "--json"),
            (NETWORKS[1], RULES),
            codes=(0, 1, 2),
            mutate=(0, 1),
        )
    )
    t.append(Target("trace-origin", ("trace", "origin", "{0}", "--json"), (NETWORKS[1],)))
    t.append(
        Target(
            "trace-impact", ("trace", "impact", "{0}", "--country", "CN", "--json"), (NETWORKS[0],)
        )
    )
    return t


#: hostile option values, by the kind of option
OPT_NUM = ["nan", "inf", "-inf", "-1", "0", "1e308", "-1e308", "1e-300", "abc", "", "1e999"]
OPT_INT = ["-1", "0", "100000000", "99999999999999999999", "nan", "1.5", "abc", ""]
OPT_STR = ["", "Ñandú 💥", "x" * 5000, "2026-13", "2026-02-30", "9999-99", "../../etc/passwd"]


def option_cases() -> list[tuple[str, list[str], tuple[int, ...]]]:
    """(label, argv, allowed codes) for hostile option values over valid input files."""
    lyn, prices = CONTRACTS[0], PRICES
    value = ["contract", "value", lyn, "--forward-usd-per-kg", "120", "--vol", "0.3"]
    value += ["--rate", "0.04", "--paths", "1000", "--json"]
    out: list[tuple[str, list[str], tuple[int, ...]]] = []

    def swap(argv: list[str], opt: str, v: str) -> list[str]:
        a = list(argv)
        if opt in a:
            a[a.index(opt) + 1] = v
        else:
            a += [opt, v]
        return a

    for opt in ("--vol", "--rate", "--forward-usd-per-kg", "--threshold"):
        out += [(f"value{opt}={v}", swap(value, opt, v), (0, 2)) for v in OPT_NUM]
    out += [(f"value--paths={v}", swap(value, "--paths", v), (0, 2)) for v in OPT_INT]
    out += [(f"value--seed={v}", swap(value, "--seed", v), (0, 2)) for v in OPT_INT]
    out += [(f"value--as-of={v}", swap(value, "--as-of", v), (0, 2)) for v in OPT_STR]
    settle = ["contract", "settle", lyn, "--prices", prices, "--json"]
    for opt in ("--from", "--through"):
        out += [(f"settle{opt}={v}", swap(settle, opt, v), (0, 2)) for v in OPT_STR]
    exposure = ["exposure", BOMS[0], "--json"]
    out += [
        (f"exposure--units={v}", swap(exposure, "--units-per-year", v), (0, 2)) for v in OPT_NUM
    ]
    out += [(f"exposure--year={v}", swap(exposure, "--year", v), (0, 2)) for v in OPT_INT]
    out += [(f"exposure--top={v}", swap(exposure, "--top", v), (0, 2)) for v in OPT_INT]
    out += [(f"exposure--bloc={v}", swap(exposure, "--bloc", v), (0, 2)) for v in OPT_STR]
    risk = ["risk", "ndpr_oxide", "--json"]
    out += [(f"risk--year={v}", swap(risk, "--year", v), (0, 2)) for v in OPT_INT]
    out += [(f"risk--stage={v}", swap(risk, "--stage", v), (0, 2)) for v in OPT_STR]
    out += [(f"risk--bloc={v}", swap(risk, "--bloc", v), (0, 2)) for v in OPT_STR]
    out += [(f"risk-mineral={v}", ["risk", v, "--json"], (0, 2)) for v in OPT_STR]
    prod = ["data", "production", "lithium", "--json"]
    out += [(f"production--year={v}", swap(prod, "--year", v), (0, 2)) for v in OPT_INT]
    out += [(f"production--stage={v}", swap(prod, "--stage", v), (0, 2)) for v in OPT_STR]
    out += [
        (f"production-mineral={v}", ["data", "production", v, "--json"], (0, 2)) for v in OPT_STR
    ]
    out += [(f"country={v}", ["data", "country", v], (0, 2)) for v in OPT_STR]
    out += [(f"blocs--on={v}", ["data", "blocs", "forge", "--on", v], (0, 2)) for v in OPT_STR]
    check = ["trace", "check", NETWORKS[1], "--rules", RULES, "--on", "2027-06-01", "--json"]
    out += [(f"check--tol={v}", swap(check, "--tol", v), (0, 1, 2)) for v in OPT_NUM]
    out += [(f"check--on={v}", swap(check, "--on", v), (0, 1, 2)) for v in OPT_STR]
    ledger = ["stockpile", "ledger", STOCKPILES[0], "--signals", SIGNALS, "--csv"]
    out += [(f"ledger--limit={v}", swap(ledger[:-1], "--limit", v), (0, 2)) for v in OPT_INT]
    return out + _more_option_cases(swap)


#: hostile names and ids (``--country``, ``--lot``, ``--baseline``, ...), and paths given to
#: options that read a file: missing, a folder, under a file, under /proc, over-long. None of
#: them names a file outside the case folder (an ``--out`` of ``../../etc/passwd`` would
#: write there).
OPT_WORD = ["", "Ñandú 💥", "x" * 5000, "2026-13", ",,,", "nul\x01byte", "-x"]
OPT_PATH = [
    "",
    "missing-file.yaml",
    "examples",
    "examples/bom/ev_traction_motor.yaml/sub",
    "/proc/version/x",
    "p" * 5000,
]


def _more_option_cases(
    swap: Callable[[list[str], str, str], list[str]],
) -> list[tuple[str, list[str], tuple[int, ...]]]:
    """Every option of ``trace``, ``risk``, ``run``, ``data``, ``stockpile simulate``,
    ``contract value --curve`` and ``serve`` that the table above leaves out."""
    net = NETWORKS[0]
    out: list[tuple[str, list[str], tuple[int, ...]]] = []

    def each(label: str, argv: list[str], opt: str, values: list[str], codes: Any = (0, 2)) -> None:
        out.extend((f"{label}{opt}={v[:20]}", swap(argv, opt, v), codes) for v in values)

    impact = ["trace", "impact", net, "--json"]
    each("impact", impact, "--facility", OPT_WORD)
    each("impact", impact, "--country", OPT_WORD)
    each("impact", [*impact, "--country", "CN"], "--stage", OPT_WORD)
    out.append(("impact-none", impact, (2,)))
    out.append(("impact-both", [*impact, "--country", "CN", "--facility", "x"], (2,)))
    origin = ["trace", "origin", net, "--json"]
    each("origin", origin, "--lot", OPT_WORD)
    each("origin", origin, "--prices", OPT_PATH)
    out.append(("origin-500-lots", [*origin, *["--lot", "x"] * 500], (2,)))
    check = ["trace", "check", net, "--on", "2027-06-01", "--json"]
    each("check", check, "--rules", OPT_PATH, (0, 1, 2))
    out += [(f"import-file={v[:20]}", ["trace", "import", v, "--json"], (2,)) for v in OPT_PATH]
    out_paths = ["", "o" * 5000, "examples", "examples/bom/ev_traction_motor.yaml/x.jsonld"]
    out_paths += ["/proc/version/x.jsonld", "Ñandú 💥.jsonld"]
    each("import", ["trace", "import", net, "--json"], "--out", out_paths)
    risk = ["risk", "lithium", "--json"]
    for opt in ("--importer", "--members", "--intra-bloc", "--source", "--method"):
        each("risk", risk, opt, OPT_WORD)
    each("risk", [*risk, "--source", "wmd"], "--wmd-file", OPT_PATH)
    each("risk", [*risk, "--method", "eu-crm"], "--params", OPT_PATH)
    out.append(("risk-all-and-mineral", [*risk, "--all"], (2,)))
    out.append(("risk-csv-and-json", [*risk, "--csv"], (2,)))
    both = [*risk, "--importer", "USA", "--members", "JPN"]
    out.append(("risk-importer-and-members", both, (2,)))
    each("run", ["run", _SCEN[0], "--out", "out-baseline", "--json"], "--baseline", OPT_WORD)
    each("run", ["run", _SCEN[0], "--out", "out-limit", "--json"], "--time-limit-s", OPT_NUM)
    # the other commands' --time-limit-s is one shared wrapper (critmin.cli.limits.timed)
    each("validate", ["validate", _SCEN[0]], "--time-limit-s", OPT_NUM)
    each("run", ["run", _SCEN[0], "--out", "out-mem", "--json"], "--memory-limit-gib", OPT_NUM)
    out += [(f"reconcile={v[:20]}", ["data", "reconcile", v, "--json"], (2,)) for v in OPT_WORD]
    each("reconcile", ["data", "reconcile", "lithium", "--json"], "--year", OPT_INT)
    each("reconcile", ["data", "reconcile", "lithium", "--json"], "--wmd-file", OPT_PATH)
    out += [(f"blocs={v[:20]}", ["data", "blocs", v, "--json"], (0, 2)) for v in OPT_WORD]
    simulate = ["stockpile", "simulate", STOCKPILES[0], "--signals", SIGNALS, "--json"]
    each("simulate", simulate, "--scenario", OPT_WORD)
    each("simulate", simulate, "--signals", OPT_PATH)
    value = ["contract", "value", CONTRACTS[0], "--vol", "0.3", "--rate", "0.04"]
    each("value", [*value, "--paths", "100", "--json"], "--curve", OPT_PATH)
    dbs = [*OPT_WORD, "sqlite:///examples", "sqlite:////proc/version/x.db"]
    each("verify-audit", ["serve", "verify-audit"], "--db", dbs, (0, 1, 2))
    out += _sweep_and_policy_cases(each)
    # only values ``serve`` must refuse: one it accepted would start the server (a hang)
    each("serve", ["serve"], "--port", OPT_INT, (2,))
    each("serve", ["serve", "--port", "8999"], "--host", ["a\x00b", "h" * 5000], (2,))
    each("serve", ["serve", "--port", "-1"], "--workers", OPT_INT, (2,))
    return out


STUDY = _ex("studies", "ndpr_ban_small.yaml")
POLICY = _ex("stockpile", "ndfeb_magnet_policy.yaml")
#: hostile ``--scheduler`` values: none names a reachable scheduler, so none may be accepted
OPT_SCHEDULER = [
    *OPT_WORD,
    "tcp://",
    "tcp://h",
    "tcp://h:0",
    "tcp://h:99999",
    "dask://h:8786",
    "tcp://h:8786/x",
]


def _sweep_and_policy_cases(
    each: Callable[..., None],
) -> list[tuple[str, list[str], tuple[int, ...]]]:
    """``critmin sweep`` and ``critmin stockpile policy`` options (issue 13).

    Both commands are slow when they run (a Dask cluster, market runs), so every case either
    fails at validation or takes the quick path: ``sweep --export-sample 0`` designs the
    samples and prints one scenario, ``stockpile policy --teisberg`` solves the published
    GAMS model (~2 s). A value that slipped through validation to a real run would show as a
    case over its budget."""
    out: list[tuple[str, list[str], tuple[int, ...]]] = []
    quick = ["sweep", STUDY, "--export-sample", "0"]
    each("sweep", quick, "--samples", OPT_INT)
    each("sweep", quick, "--workers", OPT_INT)
    each("sweep", quick, "--time-limit-s", OPT_NUM)
    each("sweep", quick, "--export-sample", OPT_INT)
    each("sweep", quick, "--scheduler", OPT_SCHEDULER, (2,))
    out += [(f"sweep-file={v[:20]}", ["sweep", v, "--export-sample", "0"], (2,)) for v in OPT_PATH]
    # a bad --out must fail before any sample is solved: every value here is refused
    bad_outs = ["", ".", "..", "o" * 5000, STUDY, f"{STUDY}/sub", "/proc/version/x"]
    run = ["sweep", STUDY, "--samples", "1", "--workers", "1", "--no-report", "--json"]
    out += [(f"sweep--out={v[:20]}", [*run, "--out", v], (2,)) for v in bad_outs]
    teisberg = ["stockpile", "policy", "--teisberg", "--json"]
    each("policy", teisberg, "--paths", OPT_INT)
    each("policy", teisberg, "--seed", OPT_INT)
    # the policy file's market runs take seconds: only values refused before them
    policy = ["stockpile", "policy", POLICY, "--json"]
    out += [(f"policy--paths={v}", [*policy, "--paths", v], (2,)) for v in ("-1", "1", "nan", "")]
    out += [(f"policy--seed={v}", [*policy, "--seed", v], (2,)) for v in ("-1", "1.5", "abc")]
    out += [(f"policy-file={v[:20]}", ["stockpile", "policy", v, "--json"], (2,)) for v in OPT_PATH]
    # the memory limit and the validate mode (issue 13): --check reads the file and stops
    check = ["sweep", STUDY, "--check"]
    each("sweep-check", check, "--memory-limit-gib", OPT_NUM)
    each("sweep-check", check, "--samples", OPT_INT)
    each("policy-check", ["stockpile", "policy", POLICY, "--check"], "--memory-limit-gib", OPT_NUM)
    each("policy-check", ["stockpile", "policy", POLICY, "--check"], "--paths", OPT_INT)
    out.append(("policy-file-and-teisberg", [*policy, "--teisberg"], (2,)))
    out.append(("policy-neither", ["stockpile", "policy", "--json"], (2,)))
    out += [(f"policy--out={v[:20]}", [*teisberg, "--out", v], (2,)) for v in bad_outs]
    return out


#: the study files of ``critmin sweep`` and the policy file of ``critmin stockpile policy``
#: (issue 13): mutated and checked with ``--check``, the commands' validate mode, which reads
#: the file as a run does (base scenario, paths, outcomes, sizes against the memory limit,
#: sample 0's scenario) and stops before any market run
STUDIES = [
    _ex("studies", "ndpr_ban_small.yaml"),
    _ex("studies", "managed_market_levers.yaml"),
    _ex("studies", "ndpr_usgs_disruptions.yaml"),
    _ex("studies", "ndfeb_stockpile_rules.yaml"),  # names a policy file: --check solves it
]
SWEEP_FILES = [*STUDIES, POLICY]


def _check_argv(src: str, mutated: str) -> list[str]:
    if src == POLICY:
        return ["stockpile", "policy", mutated, "--check"]
    return ["sweep", mutated, "--check"]


#: numbers every number of a study or policy file is set to, one case each
SWEEP_NUMBERS: list[Any] = [-1, 0, float("nan"), float("inf"), 1e308, 10**30]
#: wrong types every field is set to, one case each (cycled over the fields)
SWEEP_WRONG: list[Any] = ["x", True, None, [], {"nested": 1}, [1, 2], "2026-13", "\x00"]
#: byte-level and file-system mutations, each once per file
SWEEP_RAW = [
    "latin1",
    "binary",
    "truncate",
    "bom",
    "crlf",
    "empty",
    "dir",
    "unreadable",
    "nul",
    "loop",
    "dupkey",
    "alias_bomb",
    "anchor_loop",
    "deep_flow",
    "deep_block",
    "tab",
]


def _forced(text: bytes, op: str, rng: random.Random) -> tuple[bytes | str, str]:
    """:func:`raw_mutation` with its operation chosen, not drawn."""

    class _Pick(random.Random):
        def choice(self, seq: Any) -> Any:
            return op if op in seq else rng.choice(seq)

    return raw_mutation(text, _Pick(rng.random()), "yaml")


def sweep_file_mutations(src: str) -> Iterator[tuple[bytes | str, str, bool]]:
    """Every systematic mutation of one study or policy file: each field deleted, an unknown
    field added to each mapping, each field given a wrong type, each number set to -1, 0,
    NaN, inf, 1e308 and 10**30, a duplicated top-level key of each name, every byte-level
    mutation of :data:`SWEEP_RAW`. ``(content, label, must_refuse)``."""
    raw, parsed = _source(REPO / src)
    data = _plain(parsed)  # keys as the mutants have them (a float key becomes a string)
    rng = random.Random(src)
    paths = list(_paths(data))
    for path in paths:
        label = ".".join(str(p) for p in path)
        new = _plain(data)
        del _get(new, path[:-1])[path[-1]]
        yield dump_yaml(new), f"delete:{label}", False
    for path in [(), *paths]:
        new = _plain(data)
        if isinstance(_get(new, path), dict):
            _get(new, path)["nonsense_field_xyz"] = 1
            yield dump_yaml(new), f"unknown:{'.'.join(str(p) for p in path)}", False
    for i, path in enumerate(paths):
        new = _plain(data)
        wrong = SWEEP_WRONG[i % len(SWEEP_WRONG)]
        _get(new, path[:-1])[path[-1]] = wrong
        yield dump_yaml(new), f"type:{'.'.join(str(p) for p in path)}={wrong!r}"[:80], False
    for path in paths:
        if not _is_number(_get(data, path)):
            continue
        for num in SWEEP_NUMBERS:
            new = _plain(data)
            _get(new, path[:-1])[path[-1]] = num
            refuse = isinstance(num, float) and not math.isfinite(num)
            yield dump_yaml(new), f"number:{'.'.join(str(p) for p in path)}={num!r}", refuse
        for text in (True, str(_get(data, path))):
            new = _plain(data)
            _get(new, path[:-1])[path[-1]] = text
            label = f"text:{'.'.join(str(p) for p in path)}={text!r}"
            yield dump_yaml(new), label, number_text_refused(path)
    for key in data:
        yield raw + f"\n{key}: {json.dumps(_plain(data[key]))}\n".encode(), f"dupkey:{key}", False
    for depth in (50, 200):
        new = _plain(data)
        new[next(iter(new))] = f"__DEEP_{depth}_l__"
        yield dump_yaml(new), f"deep:{depth}", False
    for op in SWEEP_RAW:
        content, label = _forced(raw, op, rng)
        yield content, f"raw:{label}", False


def sweep_file_cases(seed: int | None = None, n: int | None = None) -> list[Case]:
    """The study/policy file cases: all of :func:`sweep_file_mutations` (``seed`` None), or
    a seeded sample of ``n`` of them (the fast suite's share)."""
    cases: list[Case] = []
    for src in SWEEP_FILES:
        rel_dir = Path(src).parent
        for k, (content, label, refuse) in enumerate(sweep_file_mutations(src)):
            name = str(rel_dir / f"swmut{k}.yaml")
            cases.append(
                Case(
                    f"swf-{Path(src).stem}-{k}-{label}"[:160],
                    _check_argv(src, name),
                    {name: content},
                    (0, 2),
                    refuse,
                    10.0,
                )
            )
    if seed is not None:
        rng = random.Random(seed)
        cases = rng.sample(cases, min(n or len(cases), len(cases)))
    return cases


def out_cases() -> list[tuple[str, list[str], dict[str, bytes | str]]]:
    """``--out`` at a file, under a file, at an unwritable or over-long path."""
    lyn, prices = CONTRACTS[0], PRICES
    bad_outs: list[tuple[str, str, dict[str, bytes | str]]] = [
        ("file", "afile", {"afile": b"x"}),
        ("under-file", "afile/sub", {"afile": b"x"}),
        ("long", "n" * 300, {}),
        ("proc", "/proc/version/x", {}),
        # the working folder and one above it cannot be swapped as a whole: refused
        ("dot", ".", {}),
        ("parent", "..", {}),
    ]
    cases: list[tuple[str, list[str], dict[str, bytes | str]]] = []
    for label, where, files in bad_outs:
        cases.append(
            (
                f"run-out-{label}",
                ["run", _SCEN[0], "--out", where, "--json"],
                files,
            )
        )
        if label not in ("file", "dot", "parent"):  # (--out x.csv is a file, not a set)
            cases.append(
                (
                    f"settle-out-{label}",
                    ["contract", "settle", lyn, "--prices", prices, "--out", where + ".csv"],
                    files,
                )
            )
        cases.append(
            (
                f"stockpile-out-{label}",
                ["stockpile", "simulate", STOCKPILES[1], "--signals", SIGNALS, "--out", where],
                files,
            )
        )
        cases.append((f"risk-out-{label}", ["risk", "lithium", "--out", where], files))
    cases.append(
        (
            "settle-out-dir-as-csv",
            ["contract", "settle", lyn, "--prices", prices, "--out", "adir.csv"],
            {"adir.csv": "<dir>"},
        )
    )
    return cases


def build_cases(seed: int, n_file: int, include_run: bool = False) -> list[Case]:
    """The seeded case list: ``n_file`` file mutations plus every option and --out case."""
    rng = random.Random(seed)
    targets = file_targets(include_run)
    cases: list[Case] = []
    for k in range(n_file):
        tgt = targets[k % len(targets)]
        which = rng.choice(tgt.mutate)
        src = REPO / tgt.inputs[which]
        content, label, refuse = mutate_file(src, rng)
        # the mutated file sits beside copies of its siblings (``base:`` is relative)
        name = f"mut{k}{src.suffix}"
        rel_dir = Path(tgt.inputs[which]).parent
        files: dict[str, bytes | str] = {str(rel_dir / name): content}
        args = [str(rel_dir / name) if i == which else p for i, p in enumerate(tgt.inputs)]
        argv = [a.format(*args, out=f"out{k}") for a in tgt.argv]
        cases.append(
            Case(
                f"{seed}-{k}-{tgt.name}-{Path(tgt.inputs[which]).name}-{label}"[:160],
                argv,
                files,
                tgt.codes,
                refuse,
                tgt.budget_s,
            )
        )
    for label, argv, codes in option_cases():
        cases.append(Case(f"opt-{label}"[:160], argv, {}, codes))
    for label, argv, files in out_cases():
        cases.append(Case(f"out-{label}", argv, files, (2,)))
    return cases


# --------------------------------------------------------------------------- running


def materialise(case: Case, root: Path) -> None:
    """Write the case's files under ``root`` (a copy of examples/ and the built-ins)."""
    for rel, content in case.files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.is_symlink() or p.exists():
            if not p.is_symlink():
                p.chmod(0o644)
            p.unlink()
        if content == "<dir>":
            p.mkdir()
        elif content == "<unreadable>":
            p.write_bytes(b"name: x\n")
            p.chmod(0)
        elif content == "<loop>":  # a symlink to itself: unreadable even for root (ELOOP)
            p.symlink_to(p.name)
        else:
            assert isinstance(content, bytes)
            p.write_bytes(content)


def prepare_root(root: Path) -> None:
    """A working folder holding copies of the shipped inputs at their repo paths."""
    shutil.copytree(EXAMPLES, root / "examples", dirs_exist_ok=True)
    dst = root / "src" / "critmin" / "scenarios" / "builtin"
    shutil.copytree(BUILTIN, dst, dirs_exist_ok=True)


def run_in_process(argv: list[str]) -> tuple[int, str, str]:
    """``critmin argv`` in this process: (exit code, stdout, stderr)."""
    from critmin.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_argv = sys.argv
    sys.argv = ["critmin", *argv]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old_argv
    return code, out.getvalue(), err.getvalue()


def _worker(mem_bytes: int) -> None:
    """Serve cases read as JSON lines on stdin; answer one JSON line per case."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
    sys.setrecursionlimit(10_000)
    import critmin.cli

    critmin.cli._register()  # import every command group once, outside the timed cases
    for line in sys.stdin:
        req = json.loads(line)
        os.chdir(req["cwd"])
        t0 = time.perf_counter()
        try:
            code, _out, err = run_in_process(req["argv"])
        except BaseException as exc:  # the entry point let something through: a bug
            code, err = -1, f"escaped main(): {type(exc).__name__}: {exc}"
        ans = {"code": code, "stderr": err[-4000:], "seconds": time.perf_counter() - t0}
        sys.__stdout__.write(json.dumps(ans) + "\n")
        sys.__stdout__.flush()


def litter(root: Path) -> list[str]:
    """Temp files and lock files under ``root``: a finished command must leave none."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            if name.endswith((".tmp", ".critmin.lock")):
                found.append(str(Path(folder, name).relative_to(root)))
    return found


class Runner:
    """A worker subprocess with a per-case wall-clock budget; restarted after a kill."""

    def __init__(self, root: Path, mem_bytes: int = 3 * 2**30) -> None:
        self.root = root
        self.mem_bytes = mem_bytes
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", COLUMNS="120")
        env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
        return subprocess.Popen(
            [sys.executable, __file__, "--worker", str(self.mem_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    pipe.close()
            self.proc = None

    def run(self, case: Case) -> Outcome:
        if self.proc is None:
            self.proc = self._start()
        materialise(case, self.root)
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"argv": case.argv, "cwd": str(self.root)}) + "\n")
        self.proc.stdin.flush()
        t0 = time.perf_counter()
        # the first case also pays the worker's start-up (imports)
        limit = case.budget_s * 3 + 15
        ready, _, _ = select.select([self.proc.stdout], [], [], limit)
        if not ready:
            self.close()
            return Outcome(case, None, "", time.perf_counter() - t0, f"hang over {limit:.0f} s")
        line = self.proc.stdout.readline()
        if not line:
            rc = self.proc.wait()
            self.close()
            return Outcome(case, None, "", time.perf_counter() - t0, f"worker died ({rc})")
        ans = json.loads(line)
        return Outcome(case, ans["code"], ans["stderr"], ans["seconds"], litter=litter(self.root))


def run_cases(
    cases: list[Case], root: Path, progress: Callable[[Outcome], None] | None = None
) -> list[Outcome]:
    prepare_root(root)
    runner = Runner(root)
    outcomes: list[Outcome] = []
    try:
        for case in cases:
            o = runner.run(case)
            outcomes.append(o)
            if progress:
                progress(o)
    finally:
        runner.close()
    return outcomes


def main(argv: list[str]) -> int:
    """``python tests/hostile/harness.py [SEED] [N]``: run and print every failing case."""
    import tempfile

    sys.setrecursionlimit(20_000)
    seed = int(argv[0]) if argv else 0
    n = int(argv[1]) if len(argv) > 1 else 300
    cases = build_cases(seed, n, include_run="--run" in argv)
    bad = 0
    with tempfile.TemporaryDirectory(prefix="critmin-fuzz-") as tmp:

        def show(o: Outcome) -> None:
            nonlocal bad
            if o.problems():
                bad += 1
                print(o.describe(), flush=True)

        outs = run_cases(cases, Path(tmp), show)
    total = sum(o.seconds for o in outs)
    print(f"{len(outs)} cases, {bad} failing, {total:.1f} s in cases")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(int(sys.argv[2]))
    else:
        raise SystemExit(main(sys.argv[1:]))
