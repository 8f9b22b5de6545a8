"""Puts this folder on sys.path so tests (and subprocesses) can import the tiny model helper."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
