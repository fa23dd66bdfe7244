"""Unit vocoders that resynthesise audio from semantic units (audiotok.vocoders); none ship yet."""
