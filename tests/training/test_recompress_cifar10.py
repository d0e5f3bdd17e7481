import io

import torch
from PIL import Image, JpegImagePlugin

from tests.helpers import make_tiny_cifar10
from training.data import load_cifar10
from training.recompress_cifar10 import jpeg_settings, main, psnr, recompressed


def test_the_settings_are_read_from_the_set_and_kept_by_what_is_saved_with_them(tmp_path):
    make_tiny_cifar10(tmp_path)
    for path in (tmp_path / "cifar10").glob("*/*/*.jpg"):  # not PIL's defaults (quality 75, 4:2:0)
        Image.open(path).convert("RGB").save(path, "JPEG", quality=40, subsampling=0)
    settings = jpeg_settings(tmp_path)
    images, _ = load_cifar10(tmp_path, "test")
    saved = io.BytesIO()
    Image.fromarray(recompressed(images[:1], settings, 4)[0].permute(1, 2, 0).numpy()).save(saved, "JPEG", **settings)
    with Image.open(tmp_path / "cifar10" / "test" / "dog" / "0001.jpg") as original, Image.open(saved) as again:
        assert again.quantization == original.quantization
        assert JpegImagePlugin.get_sampling(again) == JpegImagePlugin.get_sampling(original) == 0  # 4:4:4


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
