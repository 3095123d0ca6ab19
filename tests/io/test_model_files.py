import json
import pickle

import pytest
import torch

from sdae.core.autoencoder import DenoisingAutoencoder
from sdae.core.stacking import StackedDenoisingAutoencoder
from sdae.errors import ModelFileError
from sdae.models import load_model, read_model_file, save_model


@pytest.mark.parametrize("options", [{}, {"tied": False, "corruption": "gaussian",
                                          "noise_level": 0.5, "clip": (0.0, 1.0),
                                          "decoder": "linear", "emphasis": (1.0, 0.5)}])
def test_round_trip_gives_identical_outputs(tmp_path, options):
    model = DenoisingAutoencoder(12, 7, generator=torch.Generator().manual_seed(0), **options)
    with torch.no_grad():
        model.bias.normal_()
    path = save_model(model, tmp_path / "m.safetensors", extra={"note": "hi"})
    again = load_model(path)
    assert again.config == model.config
    x = torch.rand(5, 12)
    assert torch.equal(again(x), model(x))
    info, _ = read_model_file(path)
    assert info["extra"] == {"note": "hi"} and info["kind"] == "dae"
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_file_is_safetensors_with_json_config(tmp_path):
    path = save_model(DenoisingAutoencoder(4, 2), tmp_path / "m.safetensors")
    raw = path.read_bytes()
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    meta = header["__metadata__"]
    assert meta["format"] == "sdae" and meta["format_version"] == "1"
    assert json.loads(meta["config"])["n_hidden"] == 2


def test_pickle_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(ModelFileError, match="not an sdae model file"):
        load_model(path)
    assert not marker.exists()


def test_other_format_version(tmp_path):
    from safetensors.torch import save

    path = tmp_path / "v9.safetensors"
    path.write_bytes(save({"weight": torch.zeros(2, 2)},
                          metadata={"format": "sdae", "format_version": "9"}))
    with pytest.raises(ModelFileError, match="format version 9"):
        load_model(path)


def test_truncated_and_missing(tmp_path):
    path = save_model(DenoisingAutoencoder(4, 2), tmp_path / "m.safetensors")
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ModelFileError):
        load_model(path)
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "absent.safetensors")


def flip(x, level, generator):
    return 1 - x


@pytest.mark.parametrize("make", [
    lambda: DenoisingAutoencoder(4, 2, corruption=flip),
    lambda: StackedDenoisingAutoencoder(4, [3, 2], corruption=["masking", flip]),
])
def test_custom_corruption_cannot_be_saved(make, tmp_path):
    with pytest.raises(ModelFileError, match="custom corruption"):
        save_model(make(), tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()
