"""Identifiers and W&B-like display names ("lively-river-3")."""

from __future__ import annotations

import secrets

import numpy as np

ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
ID_LENGTH = 8

_ADJECTIVES = (
    "amber", "autumn", "bold", "brave", "bright", "calm", "cool", "crisp", "dainty", "dark",
    "dashing", "deep", "eager", "easy", "fast", "fine", "fresh", "gentle", "glad", "golden",
    "good", "grand", "happy", "hardy", "jolly", "keen", "kind", "light", "lively", "lucky",
    "mellow", "misty", "noble", "polar", "proud", "quiet", "rapid", "rosy", "royal", "sage",
    "shiny", "silver", "smooth", "snowy", "solar", "sparkling", "stellar", "sunny", "swift",
    "tidy", "vivid", "warm", "wild", "wise", "young", "zesty",
)  # fmt: skip
_NOUNS = (
    "bird", "breeze", "brook", "bush", "butterfly", "cherry", "cloud", "comet", "dawn", "dew",
    "dream", "dust", "field", "fire", "firefly", "flower", "fog", "forest", "frog", "galaxy",
    "glade", "grass", "haze", "hill", "lake", "leaf", "meadow", "moon", "morning", "mountain",
    "night", "ocean", "paper", "pine", "planet", "pond", "rain", "resonance", "river", "sea",
    "shadow", "sky", "smoke", "snow", "sound", "star", "sun", "sunset", "surf", "thunder",
    "tree", "valley", "violet", "water", "wave", "wind", "wood",
)  # fmt: skip


def new_id() -> str:
    """8 characters of [a-z0-9]: about 2.8e12 values, drawn from the OS entropy pool in one
    call (a draw per character cost 12 us against 2, inside every claim's write lock)."""
    number = secrets.randbelow(len(ID_ALPHABET) ** ID_LENGTH)
    chars = []
    for _ in range(ID_LENGTH):
        number, digit = divmod(number, len(ID_ALPHABET))
        chars.append(ID_ALPHABET[digit])
    return "".join(chars)


def run_name(seed: int, number: int) -> str:
    """A display name that is a function of the run's seed, so a replayed sweep names alike."""
    rng = np.random.default_rng(seed)
    adjective = _ADJECTIVES[int(rng.integers(len(_ADJECTIVES)))]
    noun = _NOUNS[int(rng.integers(len(_NOUNS)))]
    return f"{adjective}-{noun}-{number}"


def random_name() -> str:
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(1000)}"
