"""Speech the project makes itself with espeak-ng (apt-get install espeak-ng).

Used for the shipped example corpus and for the training audio of the default codebook:
we may redistribute what espeak-ng synthesises from our own sentences.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

VOICES = (
    "en-us",
    "en-gb",
    "en-us+f3",
    "en-gb+m3",
    "en-us+f2",
    "en-gb-scotland",
    "en-029+f4",
    "en-gb-x-rp+m5",
    "de",
    "fr",
    "es",
    "it",
)

SUBJECTS = (
    "the old sailor",
    "a quiet child",
    "my neighbour",
    "the yellow dog",
    "every farmer",
    "a tired teacher",
    "the brave pilot",
    "our cousin",
    "the small robot",
    "this singer",
    "a clever fox",
    "the night nurse",
    "her brother",
    "the chess player",
    "a lazy cat",
)
VERBS = (
    "carried",
    "painted",
    "watched",
    "borrowed",
    "measured",
    "forgot",
    "cooked",
    "found",
    "pushed",
    "explained",
    "judged",
    "fixed",
    "threw",
    "choose",
    "wrapped",
)
OBJECTS = (
    "seven heavy boxes",
    "a shiny violin",
    "the frozen river",
    "two thousand coins",
    "a thick brown jacket",
    "the village church",
    "some fresh bread",
    "the broken watch",
    "a giant map of Asia",
    "the zoo keeper's boots",
    "three rough stones",
    "a page of ancient judo rules",
    "the sharp garden shears",
    "a vase of pale azaleas",
)
ENDINGS = (
    "before the storm",
    "without a word",
    "near the bridge",
    "at half past nine",
    "while the kettle whistled",
    "during the thunder",
    "as the bells rang",
    "quickly",
    "in the morning fog",
    "with great joy",
    "beside the hedge",
    "for the third time",
)


def sentence(rng: random.Random) -> str:
    s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
    if rng.random() < 0.7:
        s += f" {rng.choice(ENDINGS)}"
    return s.capitalize() + "."


def synthesize(text: str, voice: str, out: Path, rate: int = 160, pitch: int = 50) -> None:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SystemExit("espeak-ng is not installed: apt-get install espeak-ng")
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [exe, "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", str(out), text],
        check=True,
        capture_output=True,
    )
