"""`python -m vae_course.bench slider` prints one JSON object with median_ms and p95_ms (figures, not a timed test)."""
import json

from vae_course.bench import main


def test_bench_slider_prints_one_json_object(capsys):
    assert main(["slider", "--n", "5", "--seed", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["n"] == 5
    assert 0 < result["median_ms"] <= result["p95_ms"] <= result["max_ms"]
    # lecture 10's conditional explorer is timed in the same run, under its own names
    assert 0 < result["conditional_median_ms"] <= result["conditional_p95_ms"] <= result["conditional_max_ms"]
