"""Hypothesis strategies that mangle a real platform payload: keys dropped, values swapped for junk, at any depth."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True),
    st.text(max_size=50), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.sampled_from(["@everyone", "<!channel>", "U0", "", "x" * 5000, "one", "1️⃣", "0", "studybot:pick:1:9"]),
)


@st.composite
def mangled(draw, payload: Any) -> Any:
    if isinstance(payload, dict):
        out = {}
        for key, value in payload.items():
            action = draw(st.sampled_from(["keep", "keep", "keep", "drop", "junk", "recurse"]))
            if action == "drop":
                continue
            out[key] = draw(JUNK) if action == "junk" else draw(mangled(value)) if action == "recurse" else value
        return out
    if isinstance(payload, list):
        return [draw(mangled(item)) for item in payload]
    return draw(st.one_of(st.just(payload), JUNK))
