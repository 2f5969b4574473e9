"""A zero needs words that state it for its own item.

Free-form reports say "没有收到政府信息公开申请" and stop; a small model then fills every
request figure with 0 (granted, partially granted, by channel, on time, extended). The
contract maps that sentence to `requests.new_received.total = 0` only and leaves what the
report does not state null. So a 0 for one of these items stands only when a sentence of the
text names the item and states zero ("当面申请0件", "没有收到网上、信件和当面提出的申请").
"""

from __future__ import annotations

import re

from structurer.core.evidence.grounding import states_zero

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
}
_SENTENCE = re.compile(r"[^。；;！!？?\n]+")


def unstated_zero_problem(path: str, value: object, text: str) -> str | None:
    """Why a proposed 0 for `path` is not stated by the text: the re-ask reason, or None."""
    words = ITEM_WORDS.get(path)
    if words is None or isinstance(value, bool) or value != 0:
        return None
    for m in _SENTENCE.finditer(text):
        sentence = m.group()
        if any(w in sentence for w in words) and states_zero(sentence):
            return None
    return (
        f"原文没有说明“{words[0]}”的件数为 0（“没有收到申请”只说明收到申请数为 0）；"
        "原文未单独说明时填 null"
    )
