"""Request items stated in words: a zero needs words that state it for its own item, and a
count printed right after its item's words is read by rule.

Free-form reports say "没有收到政府信息公开申请" and stop; a small model then fills every
request figure with 0 (granted, partially granted, by channel, on time, extended). The
contract maps that sentence to `requests.new_received.total = 0` only and leaves what the
report does not state null. So a 0 for one of these items stands only when a sentence of the
text names the item and states zero ("当面申请0件", "没有收到网上、信件和当面提出的申请").

The same sentences are read as a rule (`read_request_items`): a sentence that names an item,
states zero and prints no other count gives that item its 0 (the model often answers null for
the items of a sentence it read one zero from); and a channel or an outcome printed with its
count ("网上申请17件", "按时办结25件") gives that count. Reports with the standard tables
state these only in words, and a small model reading such a sentence shifts the counts
between the channels.
"""

from __future__ import annotations

import re
import unicodedata

from structurer.core.evidence.grounding import ENUMERATOR, SENTENCE, states_zero
from structurer.core.evidence.value_check import numbers_in
from structurer.core.types import AlignmentStatus, CellReading, Evidence

# the words that name each item in a sentence (language support, like grounding.ZERO_WORDS)
ITEM_WORDS: dict[str, tuple[str, ...]] = {
    "requests.granted.total": ("同意公开", "予以公开", "全部公开", "准予公开"),
    "requests.partially_granted.total": ("部分公开",),
    "legacy.requests_in_person": ("当面", "现场"),
    "legacy.requests_online": ("网络", "网上", "在线", "电子邮件", "互联网"),
    "legacy.requests_by_letter": ("信函", "信件", "邮寄", "书信"),
    "legacy.requests_by_fax": ("传真",),
    "legacy.requests_on_time": ("按时", "按期", "如期", "期限内"),
    "legacy.requests_extended": ("延期", "延长"),
    "legacy.complaints": ("举报", "投诉"),
}
# what a sentence must be about for its zero to count for the item (default: requests)
TOPIC: dict[str, str] = {"legacy.complaints": ""}
# unlike grounding's zero sentences, only a year written as one ("2023年") is no count here
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}\s*年")


def unstated_zero_problem(path: str, value: object, text: str) -> str | None:
    """Why a proposed 0 for `path` is not stated by the text: the re-ask reason, or None."""
    words = ITEM_WORDS.get(path)
    if words is None or isinstance(value, bool) or value != 0:
        return None
    for m in SENTENCE.finditer(text):
        sentence = m.group()
        if any(w in sentence for w in words) and states_zero(sentence):
            return None
    return (
        f"原文没有说明“{words[0]}”的件数为 0（“没有收到申请”只说明收到申请数为 0）；"
        "原文未单独说明时填 null"
    )


# a channel or an outcome and its count: "网上申请17件", "通过信函提交申请5件", "按时办结25件"
_COUNTED: dict[str, re.Pattern[str]] = {
    path: re.compile(
        rf"(?:{'|'.join(words)})(?:方式|渠道)?(?:提交|提出|受理)?的?(?:申请|办结|答复)(?:了)?\s*"
        r"(?:共|为|计)?\s*([0-9０-９]+)\s*件"
    )
    for path, words in {
        "legacy.requests_in_person": ("当面",),
        "legacy.requests_online": ("网络", "网上", "在线"),
        "legacy.requests_by_letter": ("信函", "信件"),
        "legacy.requests_by_fax": ("传真",),
        "legacy.requests_on_time": ("按时", "按期"),
        "legacy.requests_extended": ("延期",),
    }.items()
}


def read_request_items(text: str) -> list[CellReading]:
    """A count printed right after an item's words, and a 0 for each item a sentence about
    requests names and states zero for, printing no other count."""
    out: dict[str, CellReading] = {}
    for path, pattern in _COUNTED.items():
        found = list(pattern.finditer(text))
        if len({int(unicodedata.normalize("NFKC", m.group(1))) for m in found}) == 1:
            m = found[0]  # one count, however often printed: else the rule cannot tell which
            evidence = Evidence(m.start(), m.end(), m.group(), AlignmentStatus.exact)
            value = int(unicodedata.normalize("NFKC", m.group(1)))
            out[path] = CellReading(path, value, evidence, "count printed after its item")
    for m in SENTENCE.finditer(text):
        sentence = m.group()
        bare = _YEAR.sub(" ", ENUMERATOR.sub(" ", sentence))
        if not states_zero(bare) or any(n != 0 for n in numbers_in(bare)):
            continue
        for path, words in ITEM_WORDS.items():
            # only sentences about the item's topic: "未能做到全部公开" states no request count
            if TOPIC.get(path, "申请") not in sentence:
                continue
            if path not in out and any(w in sentence for w in words):
                start = m.start() + len(sentence) - len(sentence.lstrip())
                end = m.end() - (len(sentence) - len(sentence.rstrip()))
                evidence = Evidence(start, end, text[start:end], AlignmentStatus.exact)
                out[path] = CellReading(path, 0, evidence, "zero stated for the item")
    return list(out.values())
