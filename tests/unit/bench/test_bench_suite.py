"""The suite's tables and the README section it rewrites."""
from bench.scheduler import BurstResult, LoopResult
from bench.suite import END, START, burst_table, loop_table, write_readme


def test_loop_table_gives_claims_per_second_and_ratio_to_baseline():
    table = loop_table([LoopResult("upstream", 10.0, claims=20),
                        LoopResult("ours", 10.0, claims=250, overcommitted=[],
                                   checked_providers=40)], "upstream")
    ours = next(line for line in table.splitlines() if line.startswith("| ours"))
    assert "| 25.0 |" in ours and ours.endswith("| 12.5x |")
    assert "0 (of 40)" in ours


def test_burst_table_counts_rounds_with_exactly_one_winner():
    table = burst_table([BurstResult("upstream", 3, winners=[1, 2, 1])])
    assert "| upstream | 3 | 1 winner(s): 2, 2 winner(s): 1 | 2 | 0 |" in table


def test_readme_section_is_replaced_between_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{START}\nold\n{END}\noutro\n")
    write_readme(readme, "new\n")
    assert readme.read_text() == f"intro\n{START}\nnew\n{END}\noutro\n"
    plain = tmp_path / "plain.md"
    plain.write_text("intro\n")
    write_readme(plain, "new\n")
    assert plain.read_text() == f"intro\n\n{START}\nnew\n{END}\n"
