import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhichao.errors import ConfigError, PlateError
from zhichao.protocols.plates import (
    PROVINCES,
    color_from_form,
    is_no_plate,
    normalize_plate,
    parse_plate_color,
    read_plate_text,
    split_color_prefix,
    validate_plate,
)
from zhichao.protocols.readings import PlateColor


@pytest.mark.parametrize(
    ("text", "plate"),
    [
        ("晋E12345", "晋E12345"),
        ("粤B12345D", "粤B12345D"),  # large new-energy
        ("京AD12345", "京AD12345"),  # small new-energy
        ("京AFA1234", "京AFA1234"),  # small new-energy, letter fourth
        ("鲁A1234挂", "鲁A1234挂"),
        ("粤Z1234港", "粤Z1234港"),
        ("粤Z1234澳", "粤Z1234澳"),
        ("京A1234警", "京A1234警"),
        ("晋E1234学", "晋E1234学"),
        ("黑A12345", "黑A12345"),
        ("晋e a1b2c", "晋EA1B2C"),
        ("晋E·12345", "晋E12345"),
        ("  晋 E 1 2 3 4 5 ", "晋E12345"),
        ("晋Ｅ１２３４５", "晋E12345"),  # full-width letters and digits
        ("晋E-12345", "晋E12345"),
        ("晋\u3000E12345", "晋E12345"),  # ideographic space
    ],
)
def test_valid_plates(text, plate):
    assert validate_plate(text) == plate


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("A晋12345", "province"),
        ("台A12345", "province"),
        ("晋112345", "letter A-Z"),
        ("晋EI2345", "I and O"),
        ("晋E1234O", "I and O"),
        ("晋E1234", "has 6 characters"),
        ("晋E1234567", "has 9 characters"),
        ("晋E12挂45", "five digits or letters"),
        ("晋E12345挂", "new-energy"),
        ("晋E123456", "new-energy"),
        ("晋EA12345", "new-energy"),
        ("晋E1234$", "five digits or letters"),
    ],
)
def test_invalid_plates_say_why(text, why):
    with pytest.raises(PlateError, match=why):
        validate_plate(text)


def test_every_province_character_is_accepted():
    assert len(PROVINCES) == 31
    for province in PROVINCES:
        assert validate_plate(province + "A12345") == province + "A12345"


def test_normalize_keeps_chinese_and_uppercases_ascii():
    assert normalize_plate("粤b·12345d") == "粤B12345D"


@pytest.mark.parametrize(
    ("text", "color", "rest"),
    [
        ("黄晋E12345", PlateColor.YELLOW, "晋E12345"),
        ("蓝京A12345", PlateColor.BLUE, "京A12345"),
        ("黄绿粤B12345D", PlateColor.YELLOW_GREEN, "粤B12345D"),
        ("绿京AD12345", PlateColor.GREEN, "京AD12345"),
        ("黑黑A12345", PlateColor.BLACK, "黑A12345"),
        ("黄黑A12345", PlateColor.YELLOW, "黑A12345"),
        ("黑A12345", PlateColor.UNKNOWN, "黑A12345"),  # province, not a colour
        ("晋E12345", PlateColor.UNKNOWN, "晋E12345"),
    ],
)
def test_color_prefix(text, color, rest):
    assert split_color_prefix(text) == (color, rest)


@pytest.mark.parametrize(
    ("text", "result"),
    [
        (None, (None, PlateColor.UNKNOWN)),
        ("无车牌", (None, PlateColor.UNKNOWN)),
        ("车牌", (None, PlateColor.UNKNOWN)),
        (" ", (None, PlateColor.UNKNOWN)),
        ("黄晋E12345", ("晋E12345", PlateColor.YELLOW)),
        ("鲁A1234挂", ("鲁A1234挂", PlateColor.UNKNOWN)),
    ],
)
def test_read_plate_text(text, result):
    assert read_plate_text(text) == result


def test_read_plate_text_refuses_a_non_plate():
    with pytest.raises(PlateError, match="晋E1234"):
        read_plate_text("黄晋E1234")


@pytest.mark.parametrize("text", ["无车牌", "车牌", "", None])
def test_no_plate_markers(text):
    assert is_no_plate(text)


@pytest.mark.parametrize(
    ("text", "color"),
    [
        ("blue", PlateColor.BLUE),
        ("yellow", PlateColor.YELLOW),
        ("white", PlateColor.WHITE),
        ("black", PlateColor.BLACK),
        ("green", PlateColor.GREEN),
        ("yellowGreen", PlateColor.YELLOW_GREEN),
        ("yellowgreen", PlateColor.YELLOW_GREEN),
        ("yellow_green", PlateColor.YELLOW_GREEN),
        ("Yellow", PlateColor.YELLOW),
        ("蓝", PlateColor.BLUE),
        ("黄", PlateColor.YELLOW),
        ("白", PlateColor.WHITE),
        ("黑", PlateColor.BLACK),
        ("绿", PlateColor.GREEN),
        ("黄绿", PlateColor.YELLOW_GREEN),
        ("unknown", PlateColor.UNKNOWN),
        ("other", PlateColor.UNKNOWN),
        ("", PlateColor.UNKNOWN),
        (None, PlateColor.UNKNOWN),
        (3, PlateColor.UNKNOWN),
    ],
)
def test_hikvision_colors(text, color):
    assert parse_plate_color(text) is color


@pytest.mark.parametrize(
    ("code", "color"),
    [(1, PlateColor.BLUE), ("2", PlateColor.YELLOW), (5, PlateColor.GREEN)]
    + [(9, PlateColor.UNKNOWN), ("x", PlateColor.UNKNOWN), (None, PlateColor.UNKNOWN)],
)
def test_vzenith_codes(code, color):
    assert parse_plate_color(code, vendor="vzenith") is color


def test_dahua_words():
    assert parse_plate_color("Yellow", vendor="dahua") is PlateColor.YELLOW


def test_unknown_vendor_is_a_config_error():
    with pytest.raises(ConfigError, match="hikvision"):
        parse_plate_color("blue", vendor="acme")


@given(st.text(max_size=12))
def test_fuzz_plate_text_raises_only_plate_errors(text):
    try:
        plate, _ = read_plate_text(text)
    except PlateError:
        return
    assert plate is None or validate_plate(plate) == plate


@given(st.one_of(st.text(max_size=12), st.integers(), st.none()))
def test_fuzz_color_never_raises(value):
    assert isinstance(parse_plate_color(value), PlateColor)


@pytest.mark.parametrize(
    ("plate", "color"),
    [
        ("粤B12345D", PlateColor.YELLOW_GREEN),
        ("京AD12345", PlateColor.GREEN),
        ("京AFA1234", PlateColor.GREEN),
        ("鲁A1234挂", PlateColor.UNKNOWN),
        ("晋E12345", PlateColor.UNKNOWN),
        (None, PlateColor.UNKNOWN),
    ],
)
def test_color_from_form(plate, color):
    assert color_from_form(plate) is color
