"""Consonant skeletons: a Hangul loanword and the English word it spells out get the same key.

Korean commentary writes many English technical terms in Hangul (프리트레이닝, 파인튜닝, 임베딩,
할루시네이션); an English question never matches them in a word index. Both spellings are reduced to
the classes of their consonants, vowels dropped, repeats collapsed, by a small set of generic rules:

* Hangul: each syllable's initial consonant (silent ㅇ dropped) and final consonant (ㅇ = ``G``, "ng");
* English: digraphs first (``ph`` ``th`` ``sh`` ``ch`` ``ck`` ``ng`` ``tion``), then letters; an ``r``
  not followed by a vowel is silent, as Korean spells British-style (transformer → 트랜스포머).

So ``pretraining`` and 프리트레이닝 are both ``PLTLNG``, ``embedding`` and 임베딩 ``MPTG``,
``hallucination`` and 할루시네이션 ``LSNSN`` (``h`` is dropped on both sides). Keys shorter than
:data:`MIN_KEY` consonants are too ambiguous to use.
"""

from __future__ import annotations

import re
from functools import lru_cache

MIN_KEY = 3

# Consonant classes of the 19 initial and 28 final (index 0 = none) jamo of a Hangul syllable.
_INITIAL = "KKNTTLMPPSSxSSSKTPx"  # ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ (x = silent)
# none ㄱㄲㄳ ㄴㄵㄶ ㄷ ㄹ..ㅀ ㅁ ㅂㅄ ㅅㅆ ㅇ ㅈㅊ ㅋ ㅌ ㅍ ㅎ; a final ㅅ spells an English t (로봇 robot)
_FINAL = "xKKKNNNTLLLLLLLLMPPTTGSSKTPx"

_VOWELS = set("aeiouy")
_DIGRAPHS = (
    ("tion", "SN"),
    ("sion", "SN"),
    ("ph", "P"),
    ("th", "T"),
    ("sh", "S"),
    ("ch", "S"),
    ("ck", "K"),
    ("ng", "G"),
    ("nk", "GK"),
    ("qu", "K"),
    ("x", "KS"),
)
_LETTERS = {
    "b": "P",
    "p": "P",
    "f": "P",
    "v": "P",
    "d": "T",
    "t": "T",
    "g": "K",
    "k": "K",
    "q": "K",
    "s": "S",
    "z": "S",
    "j": "S",
    "l": "L",
    "m": "M",
    "n": "N",
}
_HANGUL_SYLLABLE = re.compile("[\uac00-\ud7a3]+")
_LATIN_WORD = re.compile("[a-z]+")


def _collapse(classes: str) -> str:
    out: list[str] = []
    for c in classes:
        if c != "x" and (not out or out[-1] != c):
            out.append(c)
    return "".join(out)


@lru_cache(maxsize=65536)
def hangul_key(word: str) -> str:
    """The consonant skeleton of a run of Hangul syllables ('' when it has other characters)."""
    if not _HANGUL_SYLLABLE.fullmatch(word):
        return ""
    classes = []
    for char in word:
        code = ord(char) - 0xAC00
        initial, final = code // 588, code % 28
        classes.append(_INITIAL[initial])
        classes.append(_FINAL[final])
    return _collapse("".join(classes))


@lru_cache(maxsize=65536)
def latin_key(word: str) -> str:
    """The consonant skeleton of an English word, by the rules above ('' for anything but a-z)."""
    word = word.casefold()
    if not _LATIN_WORD.fullmatch(word):
        return ""
    classes = []
    i = 0
    while i < len(word):
        for digraph, cls in _DIGRAPHS:
            if word.startswith(digraph, i):
                classes.append(cls)
                i += len(digraph)
                break
        else:
            char = word[i]
            following = word[i + 1] if i + 1 < len(word) else ""
            if char in ("c", "g") and following in ("e", "i", "y"):
                classes.append("S")  # soft c and g (cell, generation)
            elif char == "c":
                classes.append("K")
            elif char == "r":
                classes.append("L" if following in _VOWELS else "x")
            else:
                classes.append(_LETTERS.get(char, "x"))
            i += 1
    return _collapse("".join(classes))
