"""Every environment variable the settings read is listed in .env.example, so production can set it."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_env_example_lists_every_variable():
    settings_source = (ROOT / "config" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', settings_source))
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "no env() calls found: the pattern is stale"
    assert read - listed == set()
