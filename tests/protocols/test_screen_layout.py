"""Screen layouts: plates never shortened, long text shortened visibly."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhichao.protocols import screen_layout as layout

PLATES = ["粤B12345D", "京AD12345", "鲁A1234挂", "晋E12345"]
WIDTHS = range(layout.MIN_WIDTH, 33)


@pytest.mark.parametrize("plate", PLATES)
@pytest.mark.parametrize("lines", [2, 3, 4])
@pytest.mark.parametrize("overloaded", [False, True])
def test_a_plate_fits_every_layout_unshortened(plate, lines, overloaded):
    for width in WIDTHS:
        rows = layout.decision_layout(lines, width, plate, 49380, 49000, overloaded)
        assert len(rows) == lines
        assert rows[0].startswith(plate)
        assert all(layout.gbk_width(row) <= width for row in rows)
        word = "超限" if overloaded else "正常"
        assert any(word in row for row in rows), (width, rows)


def test_four_lines_on_a_16_byte_board():
    rows = layout.decision_layout(4, 16, "鲁A1234挂", 49380, 49000, True)
    assert rows == ("鲁A1234挂", "总重 49.38吨", "限重 49.00吨", "超限 请退回卸载")


def test_two_lines_put_the_verdict_beside_the_plate_when_it_fits():
    rows = layout.decision_layout(2, 16, "粤B12345D", 31000, 31000, False)
    assert rows == ("粤B12345D 正常", "总31.00 限31.00")


def test_a_long_unit_name_is_shortened_visibly_at_a_character_boundary():
    name = "晋城市泽州县巴公镇某某煤业有限公司洗煤厂"
    for width in WIDTHS:
        row = layout.idle_layout(2, width, name)[0]
        assert row.endswith(layout.ELLIPSIS)
        assert layout.gbk_width(row) <= width
        assert name.startswith(row.removesuffix(layout.ELLIPSIS))
        row.encode("gbk").decode("gbk")
    assert layout.idle_layout(2, 16, name)[0] == "晋城市泽州县巴.."
    assert layout.idle_layout(2, 17, name)[0] == "晋城市泽州县巴.."


def test_a_short_unit_name_is_shown_whole():
    assert layout.idle_layout(3, 16, "某煤矿") == ("某煤矿", "欢迎 请上磅", "")


def test_shorten_never_cuts_a_two_byte_character():
    assert layout.shorten("超限超限超限", 7) == "超限.."
    assert layout.shorten("超限超限超限", 8) == "超限超.."
    assert layout.shorten("AB超限", 5) == "AB.."


def test_fit_lines_joins_surplus_lines_and_keeps_the_plate():
    lane_screen = ("鲁A1234挂", "总重 49.38吨", "超限 0.38吨", "请退回卸载")
    assert layout.fit_lines(lane_screen, 2, 16) == ("鲁A1234挂", "总重 49.38吨 ..")
    assert layout.fit_lines(("欢迎", "请上磅", "", ""), 2, 16) == ("欢迎", "请上磅")
    assert layout.fit_lines(lane_screen, 4, 16) == lane_screen


@pytest.mark.parametrize(("lines", "width"), [(1, 16), (5, 16), (2, 9)])
def test_impossible_boards_are_refused(lines, width):
    with pytest.raises(ValueError):
        layout.decision_layout(lines, width, "京A12345", 1, 1, False)


@given(
    st.text(st.characters(codec="gbk", min_codepoint=0x20), max_size=40),
    st.integers(layout.MIN_WIDTH, 40),
)
def test_fuzz_shorten_fits_and_is_a_visible_prefix(text, width):
    out = layout.shorten(text, width)
    assert layout.gbk_width(out) <= width
    if out != text:
        assert out.endswith(layout.ELLIPSIS)
        assert text.startswith(out.removesuffix(layout.ELLIPSIS))
