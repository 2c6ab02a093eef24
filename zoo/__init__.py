"""LSTM Zoo: recurrent and hybrid sequence models, picked by name.

    >>> import zoo
    >>> zoo.list_models("*lstm*")
    >>> model = zoo.build("cnn_lstm", input_shape=(150, 1), task="classification", num_outputs=2)

Importing `zoo` does not import Keras; `build` does. The zoo's custom layers register with
Keras as soon as Keras is imported, so saved `.keras` files load after `import zoo`.
"""

from zoo._hooks import register_when_keras_loads
from zoo.build import build, build_backbone, ensemble, every_step
from zoo.errors import ConfigError, FastPathWarning, RegistryError, UnknownModelError, UsageError, ZooError
from zoo.params import Boolean, Choice, Float, Int, hp, make_config, sample_config, search_space
from zoo.registry import ModelInfo, ModelSpec, describe, families, get_spec, list_models, register_model

__version__ = "0.1.0"

__all__ = [
    "Boolean",
    "Choice",
    "ConfigError",
    "FastPathWarning",
    "Float",
    "Int",
    "ModelInfo",
    "ModelSpec",
    "RegistryError",
    "UnknownModelError",
    "UsageError",
    "ZooError",
    "build",
    "build_backbone",
    "describe",
    "ensemble",
    "every_step",
    "families",
    "get_spec",
    "hp",
    "list_models",
    "make_config",
    "register_model",
    "sample_config",
    "search_space",
]

register_when_keras_loads()
