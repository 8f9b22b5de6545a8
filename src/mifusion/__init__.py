"""mifusion: multimodal sentiment analysis with mutual-information objectives.

Importing the package has no side effects: no I/O, no device choice, no global torch settings.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
