"""Framers shared by the weighing indicators, the screens and the axle line.

Every indicator format zhichao reads, its screen framings (plain text, Onbon)
and the axle identifier line are cut by one of two shapes:

- a frame that begins with a start marker and ends either after a fixed number
  of bytes or at an end marker (optionally followed by a fixed trailer, such as
  a checksum byte that may take any value);
- a line: no start marker, frames end at an end marker. A stream opened in the
  middle of a line cannot tell the fragment from a frame, so everything up to
  the first end marker is discarded.

``ParityStripper`` wraps either for 7-bit data with a parity bit (7E1, 7O1) read
on a port set to 8 data bits: the parity bit is checked and removed on the bytes
themselves, and a byte that fails the check keeps bit 7 set so that no decoder
accepts it.

Framers hold at most one frame's worth of bytes; discarded bytes are counted and
kept (bounded) for :meth:`take_discarded`.
"""

DISCARD_LIMIT = 4096  # bytes of discarded input kept for take_discarded()

Item = tuple[bool, bytes]  # (is a frame, bytes), in stream order


class DelimitedFramer:
    """Cut a byte stream into candidate frames by start/end markers or length.

    ``start``: the start marker (empty for line framing). ``end``: the end
    marker (may be empty when ``length`` is given). ``length``: a fixed frame
    length counted from the start marker. ``trailer``: bytes that follow the end
    marker and belong to the frame. ``max_len``: the longest run kept while
    waiting for the end marker. ``restart_within``: a new start marker inside
    the first so many bytes of a frame restarts it (default: the whole frame,
    meaning the start marker never occurs inside a frame).
    """

    def __init__(
        self,
        *,
        start: bytes = b"",
        end: bytes = b"",
        length: int | None = None,
        trailer: int = 0,
        max_len: int = 64,
        restart_within: int | None = None,
    ) -> None:
        if not end and not length:
            raise ValueError("a framer needs an end marker or a fixed length")
        if length and not start:
            raise ValueError("a fixed-length frame needs a start marker")
        self.start = bytes(start)
        self.end = bytes(end)
        self.length = length
        self.trailer = trailer
        self.max_len = length or max_len
        self.restart_within = restart_within or self.max_len
        self._pending = b""
        self._synced = bool(start)  # a line framer syncs on its first end marker
        self._discarded = bytearray()
        self._items: list[Item] = []
        self.discarded_total = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the frames they complete, in order."""
        return [chunk for is_frame, chunk in self.feed_items(data) if is_frame]

    def feed_items(self, data: bytes) -> list[Item]:
        """Add bytes; return frames and discarded runs in stream order."""
        self._items = []
        buf = self._pending + bytes(data)
        self._pending = b""
        pos = 0
        while pos < len(buf):
            pos = self._step(buf, pos) if self.start else self._step_line(buf, pos)
        items, self._items = self._items, []
        return items

    def take_discarded(self) -> bytes:
        """Return the bytes skipped since the last call, and forget them."""
        taken = bytes(self._discarded)
        self._discarded.clear()
        return taken

    def flush(self) -> list[Item]:
        """End of stream: an unfinished frame becomes discarded bytes."""
        self._items = []
        self._discard(self._pending)
        self._pending = b""
        items, self._items = self._items, []
        return items

    def _step(self, buf: bytes, pos: int) -> int:
        start = buf.find(self.start, pos)
        if start < 0:
            keep = _partial_suffix(buf, pos, self.start)
            self._discard(buf[pos : len(buf) - keep])
            self._pending = buf[len(buf) - keep :]
            return len(buf)
        self._discard(buf[pos:start])
        return self._cut(buf, start)

    def _cut(self, buf: bytes, start: int) -> int:
        """Handle the run that begins at the start marker at ``start``."""
        window_end = start + self.max_len
        body = start + len(self.start)
        marker = -1
        if self.length:
            stop = window_end if len(buf) >= window_end else -1
        else:
            marker = buf.find(self.end, body, window_end)
            stop = marker + len(self.end) + self.trailer if marker >= 0 else -1
        restart_end = start + self.restart_within
        if marker >= 0:
            restart_end = min(restart_end, marker)
        restart = self._find_restart(buf, body, restart_end, window_end)
        if restart >= 0:
            self._discard(buf[start:restart])
            return restart
        if 0 <= stop <= len(buf):
            self._items.append((True, buf[start:stop]))
            return stop
        if stop < 0 and len(buf) >= window_end:
            cut = self._overlong_cut(buf, body, min(restart_end, window_end))
            self._discard(buf[start:cut])  # overlong: no end marker
            return cut
        self._pending = buf[start:]
        return len(buf)

    def _find_restart(
        self, buf: bytes, body: int, restart_end: int, window_end: int
    ) -> int:
        """Where a new start marker begins before ``restart_end``, or -1.

        A marker of several bytes that begins inside the run may end past it:
        it still restarts the frame. A fixed-length frame is never cut by a
        marker that would reach past its own end.
        """
        reach = restart_end + len(self.start) - 1
        if self.length:
            reach = min(reach, window_end)
        return buf.find(self.start, body, reach)

    def _overlong_cut(self, buf: bytes, body: int, restart_end: int) -> int:
        """Where to end the discarded run of a frame that found no end marker.

        The run is ``max_len`` bytes, unless the buffer ends in the first bytes
        of a start marker that begins inside it: those are kept, since the rest
        of the marker may come with the next bytes.
        """
        keep = _partial_suffix(buf, body, self.start)
        tail = len(buf) - keep
        if keep and tail < restart_end:
            return tail
        return body - len(self.start) + self.max_len

    def _step_line(self, buf: bytes, pos: int) -> int:
        marker = buf.find(self.end, pos, pos + self.max_len)
        if marker >= 0:
            stop = marker + len(self.end)
            if self._synced:
                self._items.append((True, buf[pos:stop]))
            else:
                self._discard(buf[pos:stop])  # the fragment of a line
                self._synced = True
            return stop
        if len(buf) - pos >= self.max_len:
            cut = pos + self.max_len - len(self.end) + 1
            self._discard(buf[pos:cut])  # overlong line: resync at the next end
            self._synced = False
            return cut
        self._pending = buf[pos:]
        return len(buf)

    def _discard(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._items.append((False, chunk))
        self.discarded_total += len(chunk)
        room = DISCARD_LIMIT - len(self._discarded)
        if room > 0:
            self._discarded += chunk[:room]


def _partial_suffix(buf: bytes, pos: int, marker: bytes) -> int:
    """Length of the longest tail of ``buf[pos:]`` that starts ``marker``."""
    for size in range(min(len(marker) - 1, len(buf) - pos), 0, -1):
        if buf.endswith(marker[:size]):
            return size
    return 0


def _parity_table(parity: str) -> bytes:
    table = bytearray(256)
    for byte in range(256):
        ones = bin(byte).count("1")
        good = ones % 2 == 0 if parity == "even" else ones % 2 == 1
        table[byte] = byte & 0x7F if good else byte | 0x80
    return bytes(table)


PARITIES = ("none", "even", "odd")
_TABLES = {p: _parity_table(p) for p in ("even", "odd")}


class ParityStripper:
    """Check and strip a parity bit carried in bit 7 of each byte, then frame.

    A byte whose parity is wrong is passed on with bit 7 set: every decoder
    refuses such a byte, so a frame that contains one is never a weight.
    """

    def __init__(self, inner: DelimitedFramer, parity: str) -> None:
        if parity not in _TABLES:
            raise ValueError(f"parity must be even or odd, got {parity!r}")
        self.inner = inner
        self._table = _TABLES[parity]

    @property
    def discarded_total(self) -> int:
        return self.inner.discarded_total

    def feed(self, data: bytes) -> list[bytes]:
        return self.inner.feed(bytes(data).translate(self._table))

    def feed_items(self, data: bytes) -> list[Item]:
        return self.inner.feed_items(bytes(data).translate(self._table))

    def take_discarded(self) -> bytes:
        return self.inner.take_discarded()

    def flush(self) -> list[Item]:
        return self.inner.flush()
