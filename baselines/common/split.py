"""The development split: which sequences a network trained here may see, and the check that it did not
see the video it is evaluated on.

The split lives in ``conf/split/<name>.yaml`` (keys ``name``, ``dataset``, ``train``, ``test``). A trained
checkpoint's sidecar records the sequences it saw (``trained_on``); a component loaded from it carries that
list in its weights record, so a result's provenance says what its networks saw. :func:`check_unseen`
refuses a result whose checkpoint saw an evaluated video.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from hypercon.config import CONF_DIR

from hypercon.errors import UserError

SPLIT_DIR = CONF_DIR / "split"
TRAINED_ON = "trained_on"  # the key a trained-here component puts in its weights record


class SplitViolation(UserError, ValueError):
    """A network saw a sequence it must not see (a test sequence in training, or the evaluated video)."""


@dataclass(frozen=True)
class Split:
    """A named split of one dataset's sequences into disjoint ``train`` and ``test`` tuples."""

    name: str
    dataset: str
    train: tuple[str, ...]
    test: tuple[str, ...]

    def __post_init__(self) -> None:
        shared = sorted(set(self.train) & set(self.test))
        if shared:
            raise SplitViolation(f"split {self.name!r}: sequences in both train and test: {', '.join(shared)}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "Split":
        """From a composed config node or a plain dict with keys name, dataset, train, test."""
        missing = [k for k in ("name", "dataset", "train", "test") if k not in data]
        if missing:
            raise ValueError(f"split config lacks key(s) {missing}; has {sorted(data)}")
        return cls(str(data["name"]), str(data["dataset"]), tuple(data["train"]), tuple(data["test"]))

    def check_trainable(self, dataset: str, sequences: Iterable[str]) -> None:
        """Raise :class:`SplitViolation` if ``sequences`` of ``dataset`` include a test sequence of this split."""
        if dataset != self.dataset:
            return
        leaked = sorted(set(sequences) & set(self.test))
        if leaked:
            raise SplitViolation(f"split {self.name!r}: refusing to train on test sequence(s) {', '.join(leaked)} "
                                 f"(train on: {', '.join(self.train)})")


def load_split(name: str = "davis2016_dev", split_dir: Path = SPLIT_DIR) -> Split:
    """Read ``conf/split/<name>.yaml``."""
    from omegaconf import OmegaConf

    path = Path(split_dir) / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in Path(split_dir).glob("*.yaml")))
        raise FileNotFoundError(f"no split {name!r}: {path} does not exist (known: {known})")
    return Split.from_mapping(OmegaConf.to_container(OmegaConf.load(path)))


def _trained_records(node: Any, out: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """``(checkpoint file, trained_on)`` for every mapping in a nested dict/list that has ``trained_on``."""
    if isinstance(node, Mapping):
        if isinstance(node.get(TRAINED_ON), (list, tuple)):
            out.append((str(node.get("file", "<unnamed checkpoint>")), [str(s) for s in node[TRAINED_ON]]))
        for value in node.values():
            _trained_records(value, out)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _trained_records(value, out)
    return out


def seen_sequences(provenance: Any) -> set[str]:
    """Every sequence name listed under a ``trained_on`` key anywhere in a nested provenance dict/list."""
    return {seq for _, seqs in _trained_records(provenance, []) for seq in seqs}


def check_unseen(provenance: Any, videos: Iterable[str]) -> None:
    """Raise :class:`SplitViolation` naming the video(s) and checkpoint file(s) when a network in
    ``provenance`` was trained on one of the evaluated ``videos``; return None otherwise."""
    videos = set(videos)
    problems = [f"{file} saw {', '.join(sorted(videos & set(seqs)))}"
                for file, seqs in _trained_records(provenance, []) if videos & set(seqs)]
    if problems:
        raise SplitViolation("refusing a result on video(s) its trained checkpoint saw in training: "
                             + "; ".join(problems) + " (evaluate on the split's test sequences)")
