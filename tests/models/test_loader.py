import json

import pytest
import torch

from models.energy_net import EnergyNet
from models.loader import build_network, load_network, network_spec
from models.manifest import sha256_of, write_manifest
from models.unet import UNet


def test_a_spec_names_the_class_and_its_arguments_and_builds_it():
    spec = network_spec(UNet, widths=[8, 16, 24, 32], block_depth=1, embedding_dim=16, groups=4)
    assert spec == {"class": "models.unet.UNet",
                    "args": {"widths": [8, 16, 24, 32], "block_depth": 1, "embedding_dim": 16, "groups": 4}}
    assert json.loads(json.dumps(spec)) == spec
    unet = build_network(spec)
    assert isinstance(unet, UNet) and unet.block_depth == 1 and unet.stem.out_channels == 8


def test_only_networks_of_this_project_are_built():
    with pytest.raises(ValueError, match="models"):
        build_network({"class": "os.system", "args": {}})
    with pytest.raises(ValueError, match="not a network"):
        build_network({"class": "models.images.to_uint8", "args": {}})


def test_load_network_checks_the_weights_and_returns_them_frozen_in_eval_mode(tmp_path):
    torch.manual_seed(0)
    trained = EnergyNet(width=2)
    torch.save(trained.state_dict(), tmp_path / "ebm-v9.0.pt")
    manifest = {"network": network_spec(EnergyNet, width=2),
                "weights": {"file": "ebm-v9.0.pt", "sha256": sha256_of(tmp_path / "ebm-v9.0.pt")}}
    write_manifest(tmp_path / "ebm-v9.0.json", manifest)
    network, read = load_network(tmp_path / "ebm-v9.0.json")
    assert read == manifest and not network.training
    assert not any(p.requires_grad for p in network.parameters())
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(network(x), trained(x).detach())
    (tmp_path / "ebm-v9.0.pt").write_bytes(b"tampered")
    with pytest.raises(ValueError, match="sha256"):
        load_network(tmp_path / "ebm-v9.0.json")
