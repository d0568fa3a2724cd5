"""Training kit: the committed development split, and the refusal of results whose checkpoint saw the video."""

from __future__ import annotations

import pytest

from baselines.common.split import Split, SplitViolation, check_unseen, load_split, seen_sequences

TRAIN = ("bmx-trees", "breakdance", "car-roundabout", "car-shadow", "cows", "dog", "drift-chicane",
         "drift-straight", "horsejump-high", "motocross-jump", "paragliding-launch")
TEST = ("blackswan", "camel", "dance-twirl", "goat", "kite-surf", "libby", "parkour", "scooter-black", "soapbox")


def test_dev_split_is_the_committed_one():
    split = load_split()
    assert split == Split("davis2016_dev", "davis2016", TRAIN, TEST)
    assert not set(split.train) & set(split.test)
    with pytest.raises(FileNotFoundError, match="davis2016_dev"):
        load_split("no_such_split")


def test_dev_split_covers_the_shared_davis_sequences(shared_dir):
    folder = shared_dir / "data" / "davis2016-val" / "JPEGImages" / "480p"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    split = load_split()
    assert sorted(split.train + split.test) == sorted(p.name for p in folder.iterdir() if p.is_dir())


def test_overlapping_split_is_refused():
    with pytest.raises(SplitViolation, match="dog"):
        Split("bad", "davis2016", ("dog", "cows"), ("dog",))


def provenance_with(trained_on: list[str]) -> dict:
    """A result's provenance as the runner records it: components with their weights records."""
    return {"method": {"name": "vcons", "components": [
        {"name": "flow", "tier": "offline", "weights": None},
        {"name": "vcons", "tier": "trained-here",
         "weights": {"file": "/w/vcons.pt", "sha256": "ab" * 32, "trained_on": trained_on, "steps": 10}}]},
        "metric_flow": {"weights": {"file": "/w/raft.pth", "sha256": "cd" * 32}}}


def test_seen_sequences_walks_nested_provenance():
    prov = provenance_with(["bmx-trees", "dog"])
    prov["extra"] = [{"trained_on": ["cows"], "file": "/w/other.pt"}]
    assert seen_sequences(prov) == {"bmx-trees", "dog", "cows"}
    assert seen_sequences({"components": [{"weights": None}]}) == set()


def test_result_on_a_sequence_its_checkpoint_saw_is_refused():
    prov = provenance_with(list(TRAIN))
    check_unseen(prov, ["blackswan", "camel"])  # test sequences: fine
    with pytest.raises(SplitViolation) as exc:
        check_unseen(prov, ["blackswan", "dog"])
    assert "dog" in str(exc.value) and "/w/vcons.pt" in str(exc.value) and "blackswan" not in str(exc.value)
