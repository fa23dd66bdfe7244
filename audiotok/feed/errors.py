"""The feed's error (here so that the modules below the vocabulary can raise it too)."""

from audiotok.errors import AudiotokError


class VocabError(AudiotokError):
    """A vocabulary spec that cannot be used (collisions, unknown streams, bad JSON)."""
