"""The run-config record: what a search writes is what `zoo train` / `zoo semi --config` read."""

from __future__ import annotations

import pytest

from recipes.runconfig import RunConfig
from zoo.errors import ConfigError


def test_a_record_reads_back_as_written(tmp_path) -> None:
    semi = RunConfig("lstm", "ucr:GunPoint", {}, {"units": 8}, {"batch_size": 16, "seed": 3}, recipe="semi",
                     label_fraction=0.1, unlabeled="train,unlabeled", pretrain={"pretext": "masked", "seed": 3},
                     finetune={"freeze_epochs": 10})  # fmt: skip
    assert RunConfig.from_yaml(semi.to_yaml(tmp_path / "semi.yaml")) == semi
    plain = RunConfig("gru", "forecast:airline", {"horizon": 12}, {}, {"epochs": 5})
    written = plain.to_yaml(tmp_path / "plain.yaml").read_text()
    assert "recipe" not in written and "pretrain" not in written  # a supervised file stays as users write it
    assert RunConfig.from_yaml(tmp_path / "plain.yaml") == plain


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("model: lstm\npretrain: {pretext: masked}\n", ["pretrain belong to the semi recipe", "recipe: semi"]),
        ("recipe: sem\n", ["recipe 'sem'", "supervised, semi"]),
        ("recipe: semi\npretrain: {pretxt: masked}\n", ["pretrain: unknown key 'pretxt'", "did you mean: pretext"]),
        ("recipe: semi\nfinetune: 3\n", ["finetune must be a mapping"]),
        ("- lstm\n", ["expected a mapping"]),
    ],
)
def test_a_bad_file_is_one_line_naming_the_key(tmp_path, text, words) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        RunConfig.from_yaml(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)
    for word in words:
        assert word in str(caught.value)
