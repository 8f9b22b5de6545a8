"""Puts this folder on sys.path so the tests can import the hostile-input generators."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
