"""The Simplified Chinese catalogue is complete: every message translated, none left as a fuzzy guess."""

import re
from pathlib import Path

from django.utils import translation

CATALOGUE = Path(__file__).resolve().parents[1] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def entries():
    """(msgid, msgstr, flags) of every entry but the header."""
    for block in CATALOGUE.read_text().split("\n\n")[1:]:
        flags = " ".join(line for line in block.splitlines() if line.startswith("#,"))
        strings = {}
        key = None
        for line in block.splitlines():
            match = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', line)
            if match:
                key = match.group(1)
                strings[key] = match.group(2)
            elif line.startswith('"') and key:
                strings[key] += line[1:-1]
        if "msgid" in strings:
            yield strings["msgid"], strings.get("msgstr", strings.get("msgstr[0]", "")), flags


def test_every_message_is_translated_and_none_is_fuzzy():
    found = list(entries())
    assert len(found) > 400
    assert [msgid for msgid, msgstr, _flags in found if not msgstr] == []
    assert [msgid for msgid, _msgstr, flags in found if "fuzzy" in flags] == []


def test_public_pages_speak_chinese():
    with translation.override("zh-hans"):
        assert translation.gettext("Submit my enrollment") != "Submit my enrollment"
        assert translation.gettext("Leads and conversion by source") == "各来源的线索与转化"
