"""Nothing written outside the model folder and the index: the inference libraries' telemetry is
turned off before they load.

ONNX Runtime writes a device id under ``~/.cache/Microsoft/DeveloperTools`` when it initialises,
unless ``ORT_DISABLE_TELEMETRY`` is set. Importing ``openvino`` imports its model converter, which
writes a client id under ``~/intel`` and tries to send a usage event through the
``openvino_telemetry`` package, unless that package cannot be imported (it then uses its own
stub). Both are decided here, when ``qa`` is imported, before either library is.
"""

from __future__ import annotations

import os
import sys

ORT_TELEMETRY_ENV = "ORT_DISABLE_TELEMETRY"
OPENVINO_TELEMETRY_MODULE = "openvino_telemetry"


def disable_telemetry() -> None:
    """Turn both libraries' telemetry off for this process (a caller's own setting of
    ``ORT_DISABLE_TELEMETRY`` is kept)."""
    os.environ.setdefault(ORT_TELEMETRY_ENV, "1")
    sys.modules.setdefault(OPENVINO_TELEMETRY_MODULE, None)  # type: ignore[arg-type]
