"""`zhichao demo` as a user runs it: a real process, real ports, SQLite."""

import sqlite3
import subprocess
import sys


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
