"""The simulated indicator's pseudo-terminal and its stable name."""

import os

from zhichao.sim.devices.scale import SimulatedIndicator, open_pty_pair


def test_closing_the_indicator_removes_its_link_and_reopening_restores_it(tmp_path):
    link = tmp_path / "ttyScale"
    master, path = open_pty_pair(link)
    sim = SimulatedIndicator(master, link=link)
    first = os.path.realpath(link)
    assert first.startswith("/dev/pts/")

    sim.close()
    # a reader trying the name again finds nothing, not a pty opened by another
    # program that got the same number
    assert not os.path.lexists(link)

    sim.reopen()
    assert os.path.realpath(link).startswith("/dev/pts/")
    sim.close()
    assert not os.path.lexists(link)
