"""Model specs of ``audiotok compare``."""

import pytest

from audiotok.errors import AudiotokError
from audiotok.metrics.compare import parse_model, slug


def test_parse_model_options():
    assert parse_model("mfcc-km100") == ("mfcc-km100", {})
    name, opts = parse_model(
        "encodec-24khz:pretrained=false:n-codebooks=2:bandwidth=1.5:weights=/w.th"
    )
    assert name == "encodec-24khz"
    assert opts == {"pretrained": False, "n_codebooks": 2, "bandwidth": 1.5, "weights": "/w.th"}
    with pytest.raises(AudiotokError, match="not key=value"):
        parse_model("dac-16khz:n_codebooks")
    assert slug("dac-16khz:weights=/a b/w.pth") == "dac-16khz_weights_a_b_w.pth"
