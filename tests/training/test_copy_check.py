import json

import numpy as np
import torch
from PIL import Image

from training.copy_check import copy_check, nearest_neighbours


def test_nearest_neighbours_finds_the_closest_image_and_its_rms_distance():
    references = torch.randint(0, 256, (12000, 3, 4, 4), dtype=torch.uint8)  # more than one batch
    queries = references[[3, 11000]].clone()
    queries[0, 0, 0, 0] = 255 - queries[0, 0, 0, 0]
    distances, index = nearest_neighbours(queries, references)
    assert index[1] == 11000 and distances[1] == 0
    brute = ((references.flatten(1).double() - queries[0].flatten().double()) ** 2).mean(1).sqrt()
    assert index[0] == brute.argmin() and torch.isclose(distances[0], brute.min())


def test_copies_are_caught(tmp_path):
    generator = torch.Generator().manual_seed(0)
    train = torch.randint(0, 256, (500, 3, 8, 8), dtype=torch.uint8, generator=generator)
    test = torch.randint(0, 256, (50, 3, 8, 8), dtype=torch.uint8, generator=generator)
    copies = torch.cat([train[:10], train[10:20].flip(-1)])  # mirrored copies are copies too
    report = copy_check(copies, train, test, tmp_path / "nearest.png")
    assert report["samples_median"] == 0 and report["samples_closer_than_the_bar"] == 20
    assert report["test_images_median"] > 50
    assert Image.open(tmp_path / "nearest.png").size == (8 * 10 + 2, 2 * 10 + 2)
    json.dumps(report)


def test_the_figure_shows_the_samples_nearest_a_training_image_first(tmp_path):
    generator = torch.Generator().manual_seed(1)
    train = torch.randint(0, 256, (500, 3, 8, 8), dtype=torch.uint8, generator=generator)
    samples = torch.cat([torch.randint(0, 256, (9, 3, 8, 8), dtype=torch.uint8, generator=generator), train[5:6]])
    copy_check(samples, train, train[:50], tmp_path / "nearest.png")
    figure = torch.from_numpy(np.array(Image.open(tmp_path / "nearest.png"))).permute(2, 0, 1)
    assert torch.equal(figure[:, 2:10, 2:10], train[5])  # first tile of the top row
    assert torch.equal(figure[:, 12:20, 2:10], train[5])  # its nearest training image below it
