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

# English, in order: soft c/g (cell, generation) is S; an r not before a vowel is silent; digraphs;
# then each letter by class (vowels, h, w and y dropped) and repeated classes collapsed.
_SOFT = re.compile("[cg](?=[eiy])")
_SILENT_R = re.compile("r(?![aeiouy])")
_DIGRAPH = re.compile("tion|sion|ph|th|sh|ch|ck|ng|nk|qu")
_DIGRAPHS = {"tion": "SN", "sion": "SN", "ph": "P", "th": "T", "sh": "S", "ch": "S", "ck": "K", "ng": "G"}
_DIGRAPHS |= {"nk": "GK", "qu": "K"}
_LETTERS = str.maketrans(
    {**dict.fromkeys("bpfv", "P"), **dict.fromkeys("dt", "T"), **dict.fromkeys("gkqc", "K")}
    | {**dict.fromkeys("szj", "S"), "l": "L", "r": "L", "m": "M", "n": "N", "x": "KS"}
    | dict.fromkeys("aeiouyhw")
)
_REPEAT = re.compile(r"(.)\1+")
_HANGUL_SYLLABLE = re.compile("[\uac00-\ud7a3]+")
_LATIN_WORD = re.compile("[a-z]+")


@lru_cache(maxsize=65536)
def hangul_key(word: str) -> str:
    """The consonant skeleton of a run of Hangul syllables ('' when it has other characters)."""
    if not _HANGUL_SYLLABLE.fullmatch(word):
        return ""
    classes = []
    for char in word:
        code = ord(char) - 0xAC00
        classes.append(_INITIAL[code // 588] + _FINAL[code % 28])
    return _REPEAT.sub(r"\1", "".join(classes).replace("x", ""))


@lru_cache(maxsize=65536)
def latin_key(word: str) -> str:
    """The consonant skeleton of an English word, by the rules above ('' for anything but a-z)."""
    word = word.casefold()
    if not _LATIN_WORD.fullmatch(word):
        return ""
    word = _SILENT_R.sub("", _SOFT.sub("S", word))
    word = _DIGRAPH.sub(lambda m: _DIGRAPHS[m.group(0)], word)
    return _REPEAT.sub(r"\1", word.translate(_LETTERS))
