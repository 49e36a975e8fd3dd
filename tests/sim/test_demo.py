"""`zhichao demo` as a user runs it: a real process, real ports, SQLite."""

import queue
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading

import pytest

from browser_support import SCREENSHOTS, persistent_context
from zhichao.sim.demo import free_port


def test_demo_shows_passes_from_three_lanes_with_photos_and_an_overload(tmp_path):
    data = tmp_path / "demo"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "zhichao",
            "demo",
            "--port",
            "0",
            "--seed",
            "3",
            "--duration",
            "45",
            "--data-dir",
            str(data),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert "county platform at http://127.0.0.1:" in run.stdout
    db = sqlite3.connect(data / "platform.db")
    stations = db.execute(
        "SELECT COUNT(DISTINCT station_code) FROM weighing_records"
    ).fetchone()[0]
    overloaded = db.execute(
        "SELECT COUNT(*) FROM weighing_records WHERE overloaded"
    ).fetchone()[0]
    photos = db.execute(
        "SELECT COUNT(*) FROM record_photos rp JOIN photos p ON p.sha256 = rp.sha256"
    ).fetchone()[0]
    basis = db.execute("SELECT basis FROM weighing_records LIMIT 1").fetchone()[0]
    verification = {
        v for (v,) in db.execute("SELECT DISTINCT verification FROM weighing_records")
    }

    assert stations == 3
    assert overloaded >= 1
    assert photos >= 2 * 3
    assert "超限运输车辆行驶公路管理规定" in basis
    # every lane is enrolled and signs: the platform verified every pass
    assert verification == {"verified"}


def _read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)


def _next_line(lines: queue.Queue, starting: str, timeout_s: float = 120) -> str:
    """The next stdout line that starts with ``starting`` (a guard against a hang)."""
    while True:
        line = lines.get(timeout=timeout_s)
        if line.startswith(starting):
            return line


def _ctrl_c_reaches_it() -> None:
    # A test run started in the background of a non-interactive shell ignores
    # SIGINT, and the demo would inherit that; from a terminal it does not.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.browser
def test_demo_live_page_at_the_printed_url_then_ctrl_c_stops_it(
    tmp_path, chromium_path
):
    port = free_port()
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zhichao",
            "demo",
            "--port",
            str(port),
            "--seed",
            "3",
            "--data-dir",
            str(tmp_path / "demo"),
        ],
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "stderr.txt").open("w"),
        text=True,
        preexec_fn=_ctrl_c_reaches_it,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_read_lines, args=(demo.stdout, lines), daemon=True).start()
    try:
        url = re.search(r"http://\S+/", _next_line(lines, "zhichao demo: county"))[0]
        user, password = re.search(
            r"sign in: (\S+) / (\S+)", _next_line(lines, "zhichao demo: 登录")
        ).groups()
        with persistent_context(chromium_path, tmp_path / "profile") as context:
            page = context.new_page()
            page.goto(url)
            page.fill("#login-username", user)
            page.fill("#login-password", password)
            page.click("#login-button")
            page.wait_for_selector("#signed-in")
            page.evaluate("window.notReloaded = true")

            # rows arrive while the page stays loaded, from three stations,
            # an overloaded one marked (the first lane's second truck is)
            page.wait_for_function(
                """() => {
                  const rows = [...document.querySelectorAll('#live-rows tr.pass')];
                  const codes = new Set(rows.map(
                    r => r.querySelector('.code')?.textContent));
                  return codes.size >= 3 && rows.some(r => r.matches('.over'));
                }""",
                timeout=120_000,
            )
            assert page.evaluate("window.notReloaded") is True
            over = page.locator("#live-rows tr.pass.over").first
            assert "超限" in over.inner_text()
            page.screenshot(path=str(SCREENSHOTS / "demo-live.png"))

            over.locator("td.time a").click()
            page.wait_for_selector("#basis")
            page.wait_for_function(
                "[...document.querySelectorAll('#photos img')]"
                ".filter(i => i.naturalWidth > 0).length >= 2",
                timeout=30_000,
            )
            assert "第三条" in page.locator("#basis").inner_text()
            assert "劝返卸载" in page.locator("#verdict").inner_text()
            page.screenshot(path=str(SCREENSHOTS / "demo-record.png"), full_page=True)

        demo.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert demo.wait(timeout=60) == 0
        assert _next_line(lines, "zhichao demo: stopped", timeout_s=10)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    stderr = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in stderr, stderr[-3000:]
    with socket.socket() as sock:
        # nothing listens on the port any more (closed connections may linger)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))


def test_preferred_port_with_closed_connections_is_still_free():
    port = free_port()
    with socket.create_server(("127.0.0.1", port)) as server:
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: TIME_WAIT on the port
        client.close()
        # while it listens the port is taken, and another is chosen
        assert free_port("127.0.0.1", port) != port
    assert free_port("127.0.0.1", port) == port
