"""The inpainting evaluation's pieces (training/evaluate_inpainting.py): the centre hole, the
mean-border baseline and the hole's error, on pictures whose answers are known."""

import torch

from training.evaluate_inpainting import HOLE, centre_mask, hole_error, mean_border_fill


def test_the_centre_hole_is_hole_by_hole_in_the_middle():
    mask = centre_mask()
    assert mask.shape == (1, 32, 32) and mask.sum() == HOLE * HOLE
    start = (32 - HOLE) // 2
    assert mask[0, start:start + HOLE, start:start + HOLE].all() and mask[0, start - 1].sum() == 0


def test_the_baseline_fills_the_hole_with_the_mean_of_the_ring_around_it_and_keeps_the_rest():
    images = torch.zeros(2, 3, 32, 32, dtype=torch.uint8)
    images[0, 0] = 200  # red everywhere: the ring is red
    images[1, :, :16] = 100  # the top half grey: the ring's top row and half its sides are grey
    mask = centre_mask()
    filled = mean_border_fill(images, mask)
    hole = mask.bool()[0]
    assert (filled[0, 0][hole] == 200).all() and (filled[0, 1:][:, hole] == 0).all()
    ring = 4 * (HOLE + 1)  # the ring's pixels: (HOLE + 2)^2 - HOLE^2
    grey = (HOLE + 2) + 2 * (HOLE // 2)  # the top row, and the sides beside the hole's upper half
    assert (filled[1][:, hole] == round(100 * grey / ring)).all()
    assert torch.equal(filled[:, :, ~hole], images[:, :, ~hole])


def test_the_hole_error_counts_only_the_hole():
    originals = torch.zeros(1, 3, 32, 32, dtype=torch.uint8)
    completed = originals.clone()
    mask = centre_mask()
    completed[:, :, mask.bool()[0]] = 10
    completed[:, :, 0, 0] = 255  # outside the hole: not counted
    assert hole_error(completed, originals, mask) == {"rmse": 10.0, "mae": 10.0}
