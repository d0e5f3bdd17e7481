import json

import pytest

from models.bigram import KneserNeyBigramLM
from training.bigram import main, split_chapters

BOOK = """CONTENTS
Chapter 1. Start
Chapter 2. Middle
Chapter 3. End

 Chapter 1. Start
The cat sat on the mat. The dog sat on the log. The cat saw the dog.
 Chapter 2. Middle
The dog saw the cat. The cat sat on the log. A bird sat on the mat.
 Chapter 3. End
The bird saw the dog. The cat sat on the mat.
"""


def test_split_skips_the_contents_and_holds_out_the_last_chapters():
    train, held_out, description = split_chapters(BOOK, holdout_chapters=1)
    assert train.lstrip().startswith("Chapter 1. Start\nThe cat sat")
    assert "Chapter 2. Middle\nThe dog saw" in train and "bird saw" not in train
    assert held_out.lstrip().startswith("Chapter 3. End\nThe bird saw")
    assert description == "train: chapters 1-2; held out: chapters 3-3 and what follows them"
    with pytest.raises(ValueError):
        split_chapters(BOOK, holdout_chapters=3)


def test_training_writes_weights_and_a_manifest(tmp_path):
    (tmp_path / "data" / "text").mkdir(parents=True)
    (tmp_path / "data" / "text" / "monte_cristo.txt").write_text(BOOK * 1)
    main(["--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--holdout-chapters", "1"])
    manifest = json.loads((tmp_path / "out" / "bigram-v1.0.json").read_text())
    metrics = manifest["metrics"]
    assert 1 < metrics["heldout_perplexity_kneser_ney"] < metrics["heldout_perplexity_add_one"]
    assert manifest["weights"]["file"] == "bigram-v1.0.pt" and len(manifest["weights"]["sha256"]) == 64
    assert manifest["command"].startswith("python -m training.bigram --data-dir ")
    lm = KneserNeyBigramLM.load(tmp_path / "out" / "bigram-v1.0.pt")
    assert "cat" in lm.vocab
