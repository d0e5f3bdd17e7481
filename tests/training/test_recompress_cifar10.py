import torch
from PIL import Image

from tests.helpers import make_tiny_cifar10
from training.data import load_cifar10
from training.recompress_cifar10 import jpeg_settings, main, psnr, recompressed


def test_the_settings_are_the_sets_own(tmp_path):
    make_tiny_cifar10(tmp_path)
    settings = jpeg_settings(tmp_path)
    with Image.open(tmp_path / "cifar10" / "test" / "airplane" / "0000.jpg") as first:
        assert settings["qtables"] == first.quantization
    assert settings["subsampling"] == 2  # PIL's default, 4:2:0, as in the shared set


def test_a_moved_grid_loses_detail_that_the_same_grid_keeps(tmp_path):
    make_tiny_cifar10(tmp_path)
    images, _ = load_cifar10(tmp_path, "test")
    settings = jpeg_settings(tmp_path)
    same_grid, moved = recompressed(images, settings, 0), recompressed(images, settings, 4)
    assert moved.shape == images.shape and moved.dtype == torch.uint8
    assert psnr(images, moved).mean() < psnr(images, same_grid).mean() - 1


def test_it_writes_caches_that_training_reads(tmp_path, capsys):
    make_tiny_cifar10(tmp_path / "data")
    main(["--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "again")])
    for split in ("train", "test"):
        original, labels = load_cifar10(tmp_path / "data", split)
        again, again_labels = load_cifar10(tmp_path / "again", split)
        assert torch.equal(again_labels, labels) and again.shape == original.shape
        assert not torch.equal(again, original)
    assert "test: 20 images, PSNR against the set: mean" in capsys.readouterr().out
