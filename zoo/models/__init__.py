"""The architecture families; importing this package registers every model.

These modules import no Keras at import time: builders import it when they run.
"""

from zoo.models import attention, baselines, conv_recurrent, fcn_hybrid, recurrent  # noqa: F401
