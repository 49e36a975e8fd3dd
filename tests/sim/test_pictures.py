import io
from datetime import UTC, datetime

import pytest
from PIL import Image

from zhichao.protocols.readings import PlateColor
from zhichao.sim.devices import pictures

WHEN = datetime(2026, 6, 17, 22, 6, 30, tzinfo=UTC)


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_scene_is_evidence_sized_colour_jpeg():
    image = _open(pictures.scene_jpeg("鲁A1234挂", WHEN, "front"))

    assert image.format == "JPEG"
    assert image.size == (1280, 720)
    assert image.mode == "RGB"


def test_plate_close_up_is_smaller_jpeg():
    image = _open(pictures.plate_jpeg("京A12345", WHEN, PlateColor.BLUE))

    assert image.format == "JPEG"
    assert image.size[0] < 1280 and image.size[1] < 720


def test_text_varies_the_picture():
    assert pictures.scene_jpeg("鲁A1234挂", WHEN) != pictures.scene_jpeg(
        "鲁A1235挂", WHEN
    )


@pytest.mark.skipif(pictures.cjk_font_path() is None, reason="no CJK font installed")
def test_cjk_font_draws_the_province_character():
    with_province = pictures.plate_jpeg("鲁A1234挂", WHEN)
    other_province = pictures.plate_jpeg("京A1234挂", WHEN)

    assert with_province != other_province


def test_without_a_font_pictures_still_come_out(monkeypatch):
    monkeypatch.setattr(pictures, "FONT_DIR", pictures.Path("/nonexistent"))
    pictures.cjk_font_path.cache_clear()
    pictures._font.cache_clear()
    try:
        scene = _open(pictures.scene_jpeg("鲁A1234挂", WHEN))
        plate = _open(pictures.plate_jpeg("鲁A1234挂", WHEN))
    finally:
        pictures.cjk_font_path.cache_clear()
        pictures._font.cache_clear()

    assert scene.size == (1280, 720)
    assert plate.format == "JPEG"
