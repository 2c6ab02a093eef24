"""What a user sees on stderr when the backend starts: nothing, on any CPU; native errors still."""

from __future__ import annotations

import platform
import subprocess
import sys

from tests.test_cli import AS_A_USER

CHATTER = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796059055.951201    1988 port.cc:153] oneDNN custom operations are on. You may see ...",
    "W1130 17:00:01.123456   12 some/new_module.cc:3] a warning no list has heard of",
    "E0000 00:00:1796059062.004528    1988 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow",
]
KEPT = [
    "E0000 00:00:1796059062.004528    1988 op_kernel.cc:1857] OP_REQUIRES failed: a real error",
    "F0000 00:00:1796059062.004528    1988 allocator.cc:9] Check failed: out of memory",
    "Segmentation fault in something that is not a log line",
]


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=AS_A_USER, timeout=180)


def test_native_chatter_is_dropped_and_native_errors_are_kept() -> None:
    """Written to file descriptor 2, as native code writes, inside the filter."""
    written = "".join(line + "\n" for line in CHATTER + KEPT).encode()
    code = (
        "import os\nfrom recipes.device import native_stderr_filtered\n"
        f"with native_stderr_filtered():\n    os.write(2, {written!r})\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == KEPT


def test_the_backend_starts_silently_with_onednn_custom_ops_on() -> None:
    """TF_ENABLE_ONEDNN_OPTS=1 makes TensorFlow announce them on any x86 CPU, as on AVX-512 machines."""
    first_op = "import keras; print(float(keras.ops.convert_to_numpy(keras.ops.add(1.0, 2.0))))"
    if platform.machine() in ("x86_64", "AMD64"):  # the message this test is about is really printed here
        raw = _python("import tensorflow as tf; " + first_op)
        assert "oneDNN custom operations are on" in raw.stderr
    result = _python("from recipes.device import import_backend; import_backend(); " + first_op)
    assert result.returncode == 0 and result.stdout.strip() == "3.0"
    assert result.stderr == ""
