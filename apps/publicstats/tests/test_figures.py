import pytest

from apps.publicstats.figures import public_figure

CASES = [
    (0, 10, "< 10"),
    (1, 10, "< 10"),
    (9, 10, "< 10"),
    (10, 10, "10"),
    (999, 10, "999"),
    (1000, 10, "1k"),
    (1299, 10, "1.2k"),
    (9999, 10, "9.9k"),
    (12_345, 10, "12k"),
    (999_999, 10, "999k"),
    (1_250_000, 10, "1.2M"),
    (3_000_000_000, 10, "3G"),
    (49, 50, "< 50"),
    (0, 1, "< 1"),
    (1, 1, "1"),
]


@pytest.mark.parametrize(("count", "threshold", "shown"), CASES)
def test_counts_under_the_threshold_are_hidden_and_large_ones_rounded_down(count, threshold, shown):
    assert public_figure(count, threshold) == shown
