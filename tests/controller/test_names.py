"""Run ids: 8 characters of [a-z0-9], every character used, in every position."""

from __future__ import annotations

import re
from collections import Counter

from opensweep.controller.names import ID_ALPHABET, ID_LENGTH, new_id


def test_ids_are_eight_characters_from_the_alphabet_and_do_not_repeat() -> None:
    ids = [new_id() for _ in range(5000)]
    assert all(re.fullmatch(r"[a-z0-9]{8}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_every_character_turns_up_in_every_position() -> None:
    ids = [new_id() for _ in range(5000)]
    for position in range(ID_LENGTH):
        counts = Counter(i[position] for i in ids)
        assert set(counts) == set(ID_ALPHABET)
        # 5000 / 36 = 139 expected; a draw biased toward some characters would show here
        assert max(counts.values()) < 220 and min(counts.values()) > 70
