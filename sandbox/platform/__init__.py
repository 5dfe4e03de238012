"""The stand-in platform of the sandbox: the app "as deployed" (web, ws and stream services), localstripe behind a
small proxy, and a SendGrid-shaped e-mail provider, all on loopback and steerable through ``/__sim/`` paths.

Run with ``python -m sandbox.platform`` (``__main__``); docs/standin-platform.md describes it.
"""

import importlib.util
import shutil


def missing_programs() -> list[str]:
    """What the platform needs that may be absent: ffmpeg (Debian) for the HLS segments, localstripe (PyPI)."""
    missing = [] if shutil.which("ffmpeg") else ["ffmpeg"]
    return missing + ([] if importlib.util.find_spec("localstripe") else ["localstripe"])
