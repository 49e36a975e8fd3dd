import logging

from zhichao.transports.badinput import MAX_KINDS, BadInputLog, hex_preview

LOGGER = logging.getLogger("test.badinput")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_flood_is_one_line_then_one_summary_per_window(caplog):
    clock = Clock()
    bad = BadInputLog(LOGGER, "lane 01 scale", window_s=10, clock=clock)

    for _ in range(1000):
        bad.report("bad frame", b"\xff")
        clock.now += 0.001
    clock.now = 11
    bad.report("bad frame", b"\x00")

    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "lane 01 scale bad frame: ff",
        "lane 01 scale 999 more bad inputs (999 bytes) in the last 10 s, "
        "not logged singly",
        "lane 01 scale bad frame: 00",
    ]


def test_each_kind_is_logged_once_with_its_bytes_in_the_same_window(caplog):
    clock = Clock()
    bad = BadInputLog(LOGGER, "lane 01 scale", window_s=10, clock=clock)

    bad.report("discarded 2 bytes", b"\xff\xfe", "discarded runs")
    bad.report("bad frame (wrong XOR)", b"\x02\x2b", "checksum errors")
    bad.report("bad frame (wrong XOR)", b"\x02\x2d", "checksum errors")
    bad.report("discarded 1 bytes", b"\x00", "discarded runs")
    clock.now = 5
    bad.flush()  # no window has ended: nothing more yet
    assert len(caplog.records) == 2
    bad.flush(force=True)

    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "lane 01 scale discarded 2 bytes: ff fe",
        "lane 01 scale bad frame (wrong XOR): 02 2b",
        "lane 01 scale 1 more discarded runs (1 bytes) in the last 10 s, "
        "not logged singly",
        "lane 01 scale 1 more checksum errors (2 bytes) in the last 10 s, "
        "not logged singly",
    ]


def test_many_kinds_share_one_window_beyond_the_limit(caplog):
    clock = Clock()
    bad = BadInputLog(LOGGER, "camera listener", window_s=10, clock=clock)

    for number in range(1000):  # e.g. posts to ever new camera names
        bad.report(f"camera c{number} post refused", b"\x00", f"posts from c{number}")

    assert len(caplog.records) == MAX_KINDS + 1
    bad.flush(force=True)
    assert (
        caplog.records[-1]
        .getMessage()
        .startswith(f"camera listener {1000 - MAX_KINDS - 1} more bad inputs")
    )


def test_hex_preview_truncates_long_input():
    assert hex_preview(b"\x01\x02") == "01 02"
    assert hex_preview(bytes(100), limit=4) == "00 00 00 00 ... (100 bytes)"
