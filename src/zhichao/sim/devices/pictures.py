"""Evidence pictures for the simulated cameras, drawn with Pillow.

A scene picture is 1280x720 in colour (the evidence minimum) and a plate
close-up is smaller; both carry the plate text and the capture time. The
background is drawn once and reused, so a picture costs one JPEG encode.
Plate text needs a CJK font; without one the ASCII part of the plate is drawn
with Pillow's own font, and making a picture never fails for lack of a font.
"""

import functools
import io
import logging
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from zhichao.protocols.readings import PlateColor
from zhichao.timeutil import show_local

logger = logging.getLogger(__name__)

SCENE_SIZE = (1280, 720)
PLATE_SIZE = (440, 140)
FONT_DIR = Path("/usr/share/fonts")
FONT_NAMES = (
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJK-Bold.ttc",
    "wqy-microhei.ttc",
    "wqy-zenhei.ttc",
    "NotoSerifCJK-Regular.ttc",
)
# plate colour -> (background, ink)
PLATE_PAINT = {
    PlateColor.BLUE: ((20, 70, 180), "white"),
    PlateColor.YELLOW: ((245, 190, 20), "black"),
    PlateColor.GREEN: ((120, 200, 120), "black"),
    PlateColor.YELLOW_GREEN: ((190, 210, 60), "black"),
    PlateColor.WHITE: ((240, 240, 240), "black"),
    PlateColor.BLACK: ((20, 20, 20), "white"),
}


@functools.cache
def cjk_font_path() -> Path | None:
    """The first CJK font found under /usr/share/fonts, or None."""
    if not FONT_DIR.is_dir():
        return None
    for name in FONT_NAMES:
        for path in FONT_DIR.rglob(name):
            return path
    return None


@functools.cache
def _font(size: int) -> tuple[ImageFont.ImageFont, bool]:
    """A font of ``size`` pixels and whether it can draw Chinese."""
    path = cjk_font_path()
    if path is not None:
        try:
            return ImageFont.truetype(str(path), size), True
        except OSError as err:
            logger.warning("cannot load font %s: %s", path, err)
    try:
        return ImageFont.load_default(size), False
    except (TypeError, OSError):  # Pillow without FreeType: fixed bitmap font
        return ImageFont.load_default(), False


def _drawable(text: str, cjk: bool) -> str:
    return text if cjk else text.encode("ascii", "ignore").decode() or "?"


@functools.cache
def _scene_background() -> Image.Image:
    """A lane seen from a pole: sky, yard, deck and a truck-sized block."""
    width, height = SCENE_SIZE
    image = Image.new("RGB", SCENE_SIZE, (120, 160, 200))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height // 3, width, height), fill=(95, 95, 90))
    draw.rectangle((160, 380, 1120, 640), fill=(70, 72, 75), outline=(200, 200, 60))
    draw.rectangle((380, 180, 900, 560), fill=(180, 40, 30))
    draw.rectangle((430, 230, 850, 380), fill=(40, 60, 80))
    for x in (420, 860):
        draw.ellipse((x - 50, 530, x + 50, 630), fill=(20, 20, 20))
    return image


def scene_jpeg(
    plate: str,
    when: datetime,
    camera: str = "",
    color: PlateColor = PlateColor.YELLOW,
    quality: int = 80,
) -> bytes:
    """The scene picture (detectionPicture) for a plate event."""
    image = _scene_background().copy()
    draw = ImageDraw.Draw(image)
    font, cjk = _font(36)
    stamp = f"{show_local(when)} {camera}".strip()
    draw.rectangle((0, 0, SCENE_SIZE[0], 56), fill=(0, 0, 0))
    draw.text((16, 8), _drawable(f"{stamp}  {plate}", cjk), font=font, fill="white")
    _plate_box(draw, (540, 470, 740, 530), plate, color, 40)
    return _jpeg(image, quality)


def plate_jpeg(
    plate: str,
    when: datetime,
    color: PlateColor = PlateColor.YELLOW,
    quality: int = 85,
) -> bytes:
    """The plate close-up (licensePlatePicture) for a plate event."""
    image = Image.new("RGB", PLATE_SIZE, (60, 60, 60))
    draw = ImageDraw.Draw(image)
    _plate_box(draw, (10, 10, PLATE_SIZE[0] - 10, 100), plate, color, 64)
    font, _ = _font(22)
    draw.text((14, 108), show_local(when), font=font, fill="white")
    return _jpeg(image, quality)


def _plate_box(
    draw: ImageDraw.ImageDraw, box, plate: str, color: PlateColor, size: int
) -> None:
    font, cjk = _font(size)
    background, ink = PLATE_PAINT.get(color, ((200, 200, 200), "black"))
    draw.rectangle(box, fill=background, outline=ink, width=3)
    draw.text(
        ((box[0] + box[2]) // 2, (box[1] + box[3]) // 2),
        _drawable(plate, cjk),
        font=font,
        fill=ink,
        anchor="mm",
    )


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()
