"""IBM Model 1 of bench/ibm_model1.py (the bench's measured variants) on a toy parallel corpus."""

from __future__ import annotations

from bench.ibm_model1 import DocTranslation, expansion_pairs, parallel_notes, train

# Korean commentary and its English translation; 로봇 (robot) is in most notes, so it co-occurs with
# every English word: EM must still give each English word its own Korean word.
PARALLEL = [
    ("로봇 압축 연구", "robot compression study"),
    ("로봇 증류 연구", "robot distillation study"),
    ("압축 증류 실험", "compression distillation experiment"),
    ("로봇 압축 실험", "robot compression experiment"),
    ("로봇 증류 실험", "robot distillation experiment"),
    ("압축 증류 연구", "compression distillation study"),
]


def test_em_aligns_each_english_word_with_its_korean_word() -> None:
    notes = parallel_notes(PARALLEL, min_notes=2)
    table = train(notes, iterations=10)
    best = {english: scored[0][1] for english, scored in table.items()}
    assert best == {"robot": "로봇", "compress": "압축", "distil": "증류", "studi": "연구", "experi": "실험"}
    for scored in table.values():
        assert scored == sorted(scored, key=lambda s: -s[0])
        assert sum(p for p, _ in scored) <= 1.0 + 1e-9  # t(. | e) is a distribution (NULL keeps some)


def test_words_in_fewer_notes_than_min_notes_are_left_out() -> None:
    notes = parallel_notes([*PARALLEL, ("희귀 단어", "rare word")], min_notes=2)
    table = train(notes)
    assert "rare" not in table
    assert all(k != "희귀" for scored in table.values() for _, k in scored)


def test_expansion_pairs_replace_or_extend_the_dice_pairs() -> None:
    table = {"compress": [(0.8, "압축"), (0.1, "로봇")], "distil": [(0.2, "증류")]}
    base = {"compress": ["압축률"], "prune": ["가지치기"]}
    assert expansion_pairs(table, base, 0.3, 2, "replace") == {"compress": ["압축"]}
    added = expansion_pairs(table, base, 0.15, 2, "add")
    assert added == {"compress": ["압축률", "압축"], "prune": ["가지치기"], "distil": ["증류"]}


def test_note_translation_ranks_the_korean_note_for_an_english_query() -> None:
    table = train([(forms, stems) for stems, forms in parallel_notes(PARALLEL, min_notes=2)], iterations=10)
    notes = DocTranslation(table, {1: "압축에 대한 메모", 2: "증류에 대한 메모"}, threshold=0.05, top=5)
    assert [pid for pid, _ in notes.rank("a note on distillation")][:1] == [2]
    assert [pid for pid, _ in notes.rank("compression")][:1] == [1]
    assert notes.rank("nothing shared") == []
