from training.model_config import served_defaults


def test_each_version_gets_its_own_served_defaults():
    assert served_defaults("ebm", "1.0") == {"num_samples": 16, "steps": 1000, "step_size": 10.0, "noise": 0.005}
    assert served_defaults("ebm", "2.0") == {"num_samples": 16, "steps": 20, "step_size": 1.0, "noise": 0.0}
    assert served_defaults("diffusion", "1.0")["diffusion_steps"] == 10
    assert served_defaults("diffusion", "1.0")["sampler"] == "dpmpp_2m"
