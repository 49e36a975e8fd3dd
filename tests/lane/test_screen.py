import pytest

from zhichao.lane import screen

PLATES = ["晋E12345", "鲁A1234挂", "粤B12345D", "京AD12345", None]


@pytest.mark.parametrize(
    "kg, text",
    [
        (49380, "49.38"),
        (49385, "49.39"),
        (49384, "49.38"),
        (0, "0.00"),
        (6000, "6.00"),
        (120000, "120.00"),
        (5, "0.01"),
    ],
)
def test_tonnes(kg, text):
    assert screen.tonnes(kg) == text


def _all_screens(plate):
    return [
        screen.idle(),
        screen.weighing(plate),
        screen.unstable(plate),
        screen.released(plate, 149980, 49000),
        screen.held(plate, 149980, 100980),
        screen.store_failed(plate),
    ]


@pytest.mark.parametrize("plate", PLATES)
def test_every_screen_has_four_lines_that_fit_the_board(plate):
    for lines in _all_screens(plate):
        assert len(lines) == screen.LINES
        for line in lines:
            assert screen.gbk_bytes(line) <= screen.LINE_BYTES, line


@pytest.mark.parametrize("plate", PLATES[:-1])
def test_plate_is_shown_whole(plate):
    assert screen.released(plate, 30000, 31000)[0] == plate


def test_example_screens():
    assert screen.released("晋E12345", 49380, 49000) == (
        "晋E12345",
        "总重 49.38吨",
        "限重 49.00吨",
        "正常 请通行",
    )
    assert screen.held(None, 55000, 6000)[2:] == ("超限 6.00吨", "请退回卸载")
