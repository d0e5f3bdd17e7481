import pytest
import torch

from models.diffusion_sampler import DISTILLED, make_scheduler, reverse_diffusion
from models.diffusion_schedule import log_snr
from models.distilled_scheduler import DistilledScheduler
from models.dpm_solver import DPMSolver2MScheduler
from models.images import denormalize
from models.seeds import Seeds
from tests.helpers import OneImageNoisePredictor


@pytest.mark.parametrize("steps", [1, 2, 4])
def test_the_calls_start_at_noise_and_take_equal_steps_of_log_snr_to_t_0(steps):
    scheduler = DistilledScheduler()
    scheduler.set_timesteps(steps)
    assert len(scheduler.timesteps) == steps and scheduler.timesteps[0] == 1.0 and scheduler.ends[-1] == 0.0
    assert torch.equal(scheduler.timesteps[1:], scheduler.ends[:-1])
    assert torch.allclose(torch.diff(log_snr(torch.cat([scheduler.timesteps, scheduler.ends[-1:]]))),
                          torch.full((steps,), (log_snr(torch.tensor(0.0)) - log_snr(torch.tensor(1.0))).item() / steps,
                                     dtype=torch.float64))
    dpm = DPMSolver2MScheduler()
    dpm.set_timesteps(steps + 1)  # DPM-Solver++ with one call more walks the same grid to t = 0
    assert torch.equal(torch.cat([scheduler.timesteps, scheduler.ends[-1:]]), dpm.timesteps)


@pytest.mark.parametrize("steps", [1, 2, 4])
def test_with_the_true_noise_every_step_count_gives_back_the_image(steps):
    image = torch.rand(1, 3, 32, 32) * 2 - 1
    samples = reverse_diffusion(OneImageNoisePredictor(image), Seeds.one(2, 0), steps, sampler=DISTILLED, eta=0.0)
    assert (samples.int() - denormalize(image.expand(2, -1, -1, -1)).int()).abs().max() <= 1


def test_it_is_deterministic_and_takes_no_eta():
    assert isinstance(make_scheduler(DISTILLED, 0.0), DistilledScheduler)
    with pytest.raises(ValueError, match="eta"):
        make_scheduler(DISTILLED, 0.5)


def test_a_part_of_the_path_nests_in_the_whole_and_ends_on_noisy_images():
    whole = DistilledScheduler()
    whole.set_timesteps(4)
    part = DistilledScheduler()  # a 4-call teacher's two calls for one step of a 2-call student
    part.set_timesteps(2, whole.timesteps[0].item(), whole.ends[1].item())
    assert torch.allclose(part.timesteps, whole.timesteps[:2]) and torch.allclose(part.ends, whole.ends[:2])
    noisy, noise = torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4)
    landing, estimate = part.step(noise, 1, noisy)
    assert not torch.equal(landing, estimate)  # a DDIM step to its end, not yet the answer
