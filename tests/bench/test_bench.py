"""`make bench`'s parts, on the committed weights (the timings themselves are not tested)."""

import json

import pytest
import torch

from bench import serving
from bench.local_context import LocalContext
from bench.report import SECTION, markdown
from bench.samplers import BATCH, equal_quality_steps, flops_of, network_steps
from bench.serving import Example
from models.catalog import WEIGHTS, catalog
from scripts.readme_sections import markers, replace_section, section


@pytest.mark.parametrize("entry", catalog(), ids=lambda entry: f"{entry.model}/{entry.version}")
def test_every_model_answers_its_example_request_in_process(entry):
    assert entry.example_request is not None, f"{entry.config_file} has no example_request"
    example = Example(entry.example_request)
    handler, context = entry.handler_class()(), LocalContext(entry.model, WEIGHTS, entry.version)
    handler.initialize(context)
    context.request_headers = {0: example.headers}
    [answer] = handler.handle([example.handler_request()], context)
    assert context.status(0) == 200, answer
    assert json.loads(answer)


def test_flops_are_counted_for_the_unet_and_for_the_energy_gradient():
    images = torch.randn(BATCH, 3, 32, 32)
    unet, energy = network_steps(WEIGHTS)
    unet_flops, energy_flops = flops_of(unet, images), flops_of(energy, images)
    assert 0.5e9 < unet_flops / BATCH < 0.6e9  # 0.548 GFLOP per image per step
    # The energy is the same UNet and an inner product; its gradient costs one more pass.
    assert energy_flops == pytest.approx(2 * unet_flops, rel=0.02)


def table_row(kid, kid_std=0.0008):
    return {"fid": 40.0, "kid": kid, "kid_std": kid_std, "samples": 2000}


def test_equal_quality_steps_are_the_fewest_within_one_standard_error_of_ddim_50():
    manifest = {"metrics": {
        "steps_table": {"how": "...", "50": table_row(0.0130), "10": table_row(0.0190)},
        "steps_table_dpmpp_2m": {"how": "...", "10": table_row(0.0150), "15": table_row(0.0137),
                                 "20": table_row(0.0131), "50": table_row(0.0128)}}}
    assert equal_quality_steps(manifest)[0] == 15
    manifest["metrics"]["steps_table_dpmpp_2m"]["15"] = table_row(0.0139)
    assert equal_quality_steps(manifest)[0] == 20
    assert equal_quality_steps({"metrics": {}})[0] is None


def results():
    return {"machine": {"cpu": "Test CPU", "cores": 2, "capability": "AVX2", "native_bf16": False, "torch": "2"},
            "date": "2026-11-29", "matmul_peak_gflops": {"fp32, 1 threads": 90.0},
            "networks": [{"network": "unet", "threads": 1, "channels_last": True, "precision": "fp32",
                          "ms_per_sample_step": 4.0, "gflop_per_sample_step": 0.548, "gflops": 137.0,
                          "of_peak": 0.5}],
            "backends": [{"network": "diffusion 2.0 (UNet forward)", "backend": "ONNX Runtime", "threads": 1,
                          "ms_per_sample_step": 7.9, "of_peak": 0.61, "max_abs_difference": 1.7e-06}],
            "contention": [{"network": "unet", "threads": 2, "other_busy_cores": 1, "ms_per_sample_step": 40.0}],
            "compile": [{"network": "unet", "threads": 1, "eager_ms_per_sample_step": 4.0,
                         "compiled_ms_per_sample_step": 3.5, "compile_seconds": 60.0,
                         "pays_off_after_sample_steps": 120000}],
            "requests": [{"request": "diffusion, DDIM 50 steps", "seconds": 3.1}],
            "limits": [{"model": "ebm", "version": "2.0", "request": "64 x 50 steps", "seconds": 24.0,
                        "expected_seconds": 22.0, "cap_in_force": 3200, "worst_batch_seconds": 196.4,
                        "response_timeout": 360, "margin": 1.8}],
            "serving": [{"model": "bigram", "version": "1.0", "in_process_p50_ms": 1.0, "served_p50_ms": 20.0,
                         "overhead_ms": 19.0, "door_p50_ms": 21.0, "requests_per_s_1": 40.0, "requests_per_s_4": 80.0,
                         "requests_per_s_16": 120.0,
                         "time_split": {"client_and_http_ms": 1.5, "queue_ms": 0.4, "worker_round_trip_ms": 2.25,
                                        "handler_parse_ms": 0.1, "handler_model_ms": 0.8, "handler_encode_ms": 0.2}}],
            "floor": [{"batching": {"batchSize": 8, "maxBatchDelay": 1}, "served_p50_ms": 2.1,
                       "requests_per_s_16": 2700.0},
                      {"batching": {"batchSize": 1}, "served_p50_ms": 0.7, "requests_per_s_16": 1500.0}],
            "default_requests": [{"model": "diffusion", "version": "2.1", "seconds": 0.3}],
            "target_machine": {"cpu": "AMD EPYC", "cores": 2, "capability": "avx2", "peak_gflops": 60.0},
            "image_latency": [{"model": "cifar10", "version": "3.0", "one_p50_ms": 5.5, "eight_p50_ms": 12.0}]}


def test_the_report_names_the_machine_and_replaces_the_readme_section(tmp_path):
    text = markdown(results())
    assert "Test CPU, 2 cores, AVX2, native bf16: no" in text
    assert "| bigram 1.0 | 1.0 | 20.0 | 19.0 | 21.0 | 40.0 |" in text
    assert "3.0x" in text and "50%" in text and "| 60.0 | 120000 |" in text and "| unet | 2 | 40.0 |" in text
    assert "| diffusion 2.0 (UNet forward) | ONNX Runtime | 1 | 7.9 | 61% | 1.7e-06 |" in text
    assert "| ebm 2.0: 64 x 50 steps | 3200 | 24.0 | 22.0 | 196.4 | 360 | 1.8x |" in text
    assert "| cifar10 3.0 | 5.5 | 12.0 |" in text
    assert "| bigram 1.0 | 1.5 | 0.4 | 2.25 | 0.1 | 0.8 | 0.2 |" in text
    assert "| batchSize 8, maxBatchDelay 1 | 2.1 | 2700.0 |" in text and "| batchSize 1 | 0.7 | 1500.0 |" in text
    # 0.3 s here, at a peak of 90 GFLOP/s against the target machine's 60: 0.45 s there.
    assert "scaled to the AMD EPYC (avx2, fp32 peak 60.0 GFLOP/s at one thread against 90.0 here)" in text
    assert "| diffusion 2.1 | 0.3 | 0.45 |" in text
    assert "by `make bench`; requests re-measured 2026-11-30." in markdown({**results(),
                                                                         "remeasured": {"requests": "2026-11-30"}})
    some = markdown({key: results()[key] for key in ("machine", "date", "image_latency")})  # --only, a new machine
    assert "Test CPU" in some and "| cifar10 3.0 | 5.5 | 12.0 |" in some and "Matrix-multiply" not in some
    assert "network step" not in some and "bigram 1.0" not in some
    readme = tmp_path / "README.md"
    start, end = markers(SECTION)
    readme.write_text(f"# Title\n\n{start}\nold table\n{end}\n\n## Next\n")
    replace_section(readme, SECTION, text)
    replace_section(readme, SECTION, text)
    content = readme.read_text()
    assert content.startswith("# Title\n\n") and content.endswith("\n\n## Next\n")
    assert "old table" not in content and content.count(text) == 1 and section(readme, SECTION) == text
    readme.write_text("# No markers\n")
    with pytest.raises(ValueError, match="bench"):
        replace_section(readme, SECTION, text)


def test_timed_calls_take_turns_and_each_is_timed_at_least_count_times(monkeypatch):
    monkeypatch.setattr(serving, "WARM_UP", 1)
    monkeypatch.setattr(serving, "WARM_UP_SECONDS", 0.0)
    order = []
    calls = [lambda: order.append("served"), lambda: order.append("in-process")]
    served, in_process = serving.medians_ms_in_turns(calls, count=5, turns=3)
    assert order[:2] == ["served", "in-process"]  # one warm-up call each
    assert order[2:] == (["served"] * 2 + ["in-process"] * 2) * 3
    assert served >= 0 and in_process >= 0
