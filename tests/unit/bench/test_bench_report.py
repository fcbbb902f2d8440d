"""The benchmark's statistics and report, on made-up measurements."""
import pytest

from bench.queries import named_queries
from bench.run import Measurement, answer_digest, percentile, render_markdown


@pytest.mark.parametrize("values, fraction, expected", [
    ([], 0.95, None),
    ([5.0], 0.95, 5.0),
    ([1.0, 2.0, 3.0, 4.0], 0.5, 2.0),
    ([float(v) for v in range(1, 21)], 0.95, 19.0),
    ([float(v) for v in range(20, 0, -1)], 0.95, 19.0),
])
def test_percentile_is_nearest_rank(values, fraction, expected):
    assert percentile(values, fraction) == expected


def test_answer_digest_ignores_order_but_not_content():
    first = {"allocations": {"a": {"resources": {"VCPU": 1}}}}
    second = {"allocations": {"b": {"resources": {"VCPU": 1}}}}
    assert answer_digest({"allocation_requests": [first, second]}) == \
        answer_digest({"allocation_requests": [second, first]})
    assert answer_digest({"allocation_requests": [first]}) != \
        answer_digest({"allocation_requests": [second]})


def _measurement(target, latencies, **fields):
    return Measurement(query="perfload", target=target,
                       latencies_ms=list(latencies), **fields)


def _row(table, target):
    return next(line for line in table.splitlines()
                if line.startswith(f"| perfload | {target} |"))


def test_report_gives_ratio_to_baseline_and_flags_different_answers():
    queries = named_queries(1)
    upstream = _measurement("upstream", [100.0, 100.0], first_ms=120.0,
                            candidates=4, answer_digest="x")
    ours = _measurement("ours", [5.0, 5.0], first_ms=50.0, candidates=4,
                        answer_digest="y")
    table = render_markdown({"perfload": [upstream, ours]}, queries,
                            baseline="upstream", timeout=60)
    assert _row(table, "ours").endswith("| NO | 20.0x |")


def test_report_shows_a_timed_out_baseline_as_a_lower_bound():
    queries = named_queries(1)
    upstream = _measurement("upstream", [], timed_out=True,
                            errors=["timeout after 60s"])
    ours = _measurement("ours", [10.0], candidates=3, answer_digest="y")
    table = render_markdown({"perfload": [upstream, ours]}, queries,
                            baseline="upstream", timeout=60)
    assert "1 (timeout)" in _row(table, "upstream")
    assert _row(table, "ours").endswith("| >6000x |")
