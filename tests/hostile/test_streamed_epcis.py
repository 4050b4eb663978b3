"""EPCIS documents over 64 MiB are streamed (ijson), smaller ones read whole (json): a
document must get the same answer either way. Each mutated example (the fuzz harness's
mutations of the shipped EPCIS examples) is imported through ``critmin trace import --json``
twice, once read whole and once streamed (the threshold lowered to 0 bytes, so no 64 MiB
file is needed): the exit codes must agree, a success must print the same import, a refusal
must be one line.

When first run (2026-12-04) this found four differences, fixed: a UTF-8 byte-order mark,
allowed when read whole, was "not valid JSON" when streamed; a top-level key given twice
(``type``) counted its first value when streamed and its last when read whole; an
``epcisBody`` that is not an object and an ``eventList`` that is not a list were imported as
empty documents when streamed. One difference stays, stated in one line: an integer beyond
64 bits, which ijson's C parser (yajl) cannot read.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from critmin.trace import epcis
from tests.hostile.harness import EXAMPLES, NETWORKS, mutate_file, run_in_process

WHOLE = epcis.STREAM_ABOVE_BYTES


def _both(monkeypatch: pytest.MonkeyPatch, path: Path) -> list[tuple[int, str, str]]:
    out = []
    for limit in (WHOLE, 0):
        monkeypatch.setattr(epcis, "STREAM_ABOVE_BYTES", limit)
        out.append(run_in_process(["trace", "import", str(path), "--json"]))
    return out


def _agree(whole: tuple[int, str, str], streamed: tuple[int, str, str], what: str) -> None:
    (c1, o1, e1), (c2, o2, e2) = whole, streamed
    if c1 == 0 and c2 == 2 and "integer beyond 64 bits" in e2:
        return  # the one known difference: yajl stops at 2**63 (docs/trace.md)
    assert c1 == c2, f"{what}: read whole exit {c1} ({e1.strip()}), streamed {c2} ({e2.strip()})"
    if c1 == 0:
        assert o1 == o2, what
    else:
        assert c1 == 2, f"{what}: {e1}"
        assert len(e2.strip().splitlines()) == 1, e2


def test_bom_and_a_key_given_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (EXAMPLES / "trace" / "magnet_chain.jsonld").read_text("utf-8")
    bom = tmp_path / "bom.jsonld"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    whole, streamed = _both(monkeypatch, bom)
    assert whole[0] == 0, whole[2]
    _agree(whole, streamed, "BOM")
    twice = tmp_path / "twice.jsonld"
    twice.write_text(
        text.replace('"type": "EPCISDocument"', '"type": "x", "type": "EPCISDocument"', 1)
    )
    assert '"type": "x"' in twice.read_text("utf-8")
    whole, streamed = _both(monkeypatch, twice)
    assert whole[0] == 0, whole[2]
    _agree(whole, streamed, "type twice")


def test_header_after_the_body(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON objects are unordered: a document may put its header (master data: the sites'
    countries) after the events; the streamed reader must still find it."""
    doc = json.loads((EXAMPLES / "trace" / "magnet_chain.jsonld").read_text("utf-8"))
    late = {k: doc[k] for k in doc if k != "epcisHeader"} | {"epcisHeader": doc["epcisHeader"]}
    assert list(late)[-1] == "epcisHeader"
    f = tmp_path / "late.jsonld"
    f.write_text(json.dumps(late), "utf-8")
    whole, streamed = _both(monkeypatch, f)
    assert whole[0] == 0, whole[2]
    _agree(whole, streamed, "header last")


@pytest.mark.parametrize("seed", [11])
def test_mutated_examples_read_whole_and_streamed_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    _cases(tmp_path, monkeypatch, seed, 40)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_more_mutated_examples_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    _cases(tmp_path, monkeypatch, seed, 200)


def _cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, n: int) -> None:
    for net in NETWORKS:
        rng = random.Random(seed)
        for k in range(n):
            data, what, _ = mutate_file(Path(net), rng)
            f = tmp_path / f"{Path(net).stem}-{k}.jsonld"
            f.write_bytes(
                data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
            )
            whole, streamed = _both(monkeypatch, f)
            _agree(whole, streamed, f"{f.name} ({what})")
