"""Train the bigram LM on a novel, holding out its last chapters, and write weights + manifest.

    python -m training.bigram --data-dir data --out weights
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from models.bigram import AddOneBigramLM, BigramCounts, KneserNeyBigramLM, perplexity, tokenize
from models.manifest import sha256_of, weights_name
from training.run import command_line, device_description, weights_entry, write_run_manifest

TEXT = Path("text/monte_cristo.txt")
CHAPTER_HEADING = re.compile(r"^\s*Chapter (\d+)\.", re.MULTILINE)


def split_chapters(text: str, holdout_chapters: int) -> tuple[str, str, str]:
    """(training text, held-out text, description): the body from its last "Chapter 1." heading
    (so a table of contents is skipped), split before the last `holdout_chapters` chapters."""
    headings = [(int(m.group(1)), m.start()) for m in CHAPTER_HEADING.finditer(text)]
    if not headings:
        raise ValueError("no 'Chapter N.' headings found")
    last = max(number for number, _ in headings)
    first_held_out = last - holdout_chapters + 1
    if not 1 < first_held_out <= last:
        raise ValueError(f"cannot hold out {holdout_chapters} of {last} chapters")
    body_start = max(start for number, start in headings if number == 1)
    split = max(start for number, start in headings if number == first_held_out)
    description = (f"train: chapters 1-{first_held_out - 1}; held out: chapters "
                   f"{first_held_out}-{last} and what follows them")
    return text[body_start:split], text[split:], description


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--text", type=Path, default=TEXT, help="relative to --data-dir")
    parser.add_argument("--out", type=Path, default=Path("weights"))
    parser.add_argument("--holdout-chapters", type=int, default=5)
    parser.add_argument("--min-count", type=int, default=2,
                        help="rarer training words become <unk>")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)

    started = time.time()
    text_path = args.data_dir / args.text
    train_text, heldout_text, split = split_chapters(text_path.read_text(encoding="utf-8"),
                                                     args.holdout_chapters)
    train_tokens, heldout_tokens = tokenize(train_text), tokenize(heldout_text)
    counts = BigramCounts.from_tokens(train_tokens, args.min_count)
    lm = KneserNeyBigramLM(counts)
    kneser_ney = perplexity(lm, heldout_tokens)
    add_one = perplexity(AddOneBigramLM(counts), heldout_tokens)

    args.out.mkdir(parents=True, exist_ok=True)
    name = weights_name("bigram", "1.0")
    weights = args.out / f"{name}.pt"
    lm.save(weights)
    write_run_manifest(args.out / f"{name}.json", {
        "model": "bigram",
        "version": "1.0",
        "architecture": "word bigram language model, interpolated Kneser-Ney smoothing",
        "parameters": {"vocabulary": len(counts.vocab), "bigram_types": len(counts.counts),
                       "discount": round(lm.discount, 4), "min_count": args.min_count},
        "data": {"file": str(args.text), "sha256": sha256_of(text_path), "split": split,
                 "train_tokens": len(train_tokens), "heldout_tokens": len(heldout_tokens)},
    }, command=command_line("training.bigram", argv), seconds=round(time.time() - started, 1),
        device=device_description("cpu"), metrics={
            "heldout_perplexity_kneser_ney": round(kneser_ney, 2),
            "heldout_perplexity_add_one": round(add_one, 2),
            "how": "exp of the mean negative log-probability of every held-out bigram; held-out "
                   "words outside the training vocabulary count as <unk>",
        }, weights=weights_entry(weights))
    print(f"vocabulary {len(counts.vocab)}, held-out perplexity: Kneser-Ney {kneser_ney:.1f}, "
          f"add-one {add_one:.1f}; wrote {weights}")


if __name__ == "__main__":
    main()
