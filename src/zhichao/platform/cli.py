"""``zhichao platform``: serve the platform and manage its database schema."""

import logging
import sys
from pathlib import Path

import click

from zhichao.errors import ConfigError

logger = logging.getLogger(__name__)

database_url_option = click.option(
    "--database-url",
    help="SQLAlchemy URL (sqlite:///file.db or postgresql+psycopg://…).",
)
config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML settings file (see docs/platform.md).",
)


def _settings(config_file: Path | None, **overrides):
    from zhichao.platform.settings import load_settings

    try:
        return load_settings(config_file, **overrides)
    except ConfigError as err:
        raise click.UsageError(str(err)) from err


@click.group()
def platform() -> None:
    """The monitoring platform (县级科技治超监测平台)."""


@platform.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8000).")
@database_url_option
@click.option(
    "--evidence-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the photo store.",
)
@config_option
def serve(host, port, database_url, evidence_dir, config_file) -> None:
    """Upgrade the database to the newest schema, then serve the platform."""
    import uvicorn

    from zhichao.platform.app import create_app
    from zhichao.platform.migrations import run_migrations

    settings = _settings(
        config_file,
        host=host,
        port=port,
        database_url=database_url,
        evidence_dir=evidence_dir,
    )
    run_migrations(settings.database_url)
    app = create_app(settings)
    click.echo(f"serving on http://{settings.host}:{settings.port}/")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")


@platform.group()
def db() -> None:
    """Database schema migrations."""


@db.command()
@database_url_option
@config_option
def upgrade(database_url, config_file) -> None:
    """Upgrade the database to the newest schema (head)."""
    from zhichao.platform.migrations import current_revision, run_migrations

    settings = _settings(config_file, database_url=database_url)
    run_migrations(settings.database_url)
    click.echo(f"database at revision {current_revision(settings.database_url)}")


@db.command()
@click.argument("revision")
@database_url_option
@config_option
def downgrade(revision, database_url, config_file) -> None:
    """Downgrade the database to REVISION (``base`` removes every table)."""
    from zhichao.platform.migrations import current_revision
    from zhichao.platform.migrations import downgrade as run_downgrade

    settings = _settings(config_file, database_url=database_url)
    run_downgrade(settings.database_url, revision)
    click.echo(f"database at revision {current_revision(settings.database_url)}")


@platform.command("enroll-station")
@click.argument("code")
@click.option(
    "--replace",
    is_flag=True,
    help="Replace the lane's enrolled key (a replaced station computer).",
)
@database_url_option
@config_option
def enroll_station(code, replace, database_url, config_file) -> None:
    """Enrol a lane's key from its enrolment code (ZC1.…, from `station init`)."""
    from zhichao.chain import ChainError, Enrolment
    from zhichao.platform.db import make_sessionmaker, session_scope
    from zhichao.platform.registry import EnrolmentError, enrol_lane

    settings = _settings(config_file, database_url=database_url)
    try:
        enrolment = Enrolment.parse(code)
    except ChainError as err:
        raise click.UsageError(f"bad enrolment code: {err}") from err

    engine = _platform_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            result = enrol_lane(session, enrolment, replace=replace, via="cli")
            fingerprint = result.key.fingerprint
            old = result.replaced.fingerprint if result.replaced else None
    except EnrolmentError as err:
        raise click.ClickException(str(err)) from err
    finally:
        engine.dispose()

    lane = f"{enrolment.station_code}-{enrolment.lane_no}"
    if result.already:
        click.echo(f"lane {lane} is enrolled already with key {fingerprint}")
    elif old:
        click.echo(f"lane {lane}: key {old} replaced by {fingerprint}")
    else:
        click.echo(f"lane {lane} enrolled, key {fingerprint}")


def _platform_engine(settings):
    """An engine on the platform's database, which must exist and be migrated.

    Commands other than ``serve`` and ``db upgrade`` never create a database:
    a wrong ``--database-url`` (or none, giving the default) is an error that
    says where it looked and what to do.
    """
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from zhichao.platform.db import make_engine

    url = make_url(settings.database_url)
    hint = (
        "pass --database-url (or database_url in the --config file), or create "
        "the tables with `zhichao platform db upgrade`; the demo's database is "
        "sqlite:///var/demo/platform.db"
    )
    shown = url.render_as_string(hide_password=True)
    file_db = url.get_backend_name() == "sqlite" and url.database not in (
        None,
        "",
        ":memory:",
    )
    if file_db and not Path(url.database).is_file():
        raise click.ClickException(f"no platform database at {shown}: {hint}")
    engine = make_engine(settings.database_url)
    try:
        migrated = sa.inspect(engine).has_table("alembic_version")
    except sa.exc.OperationalError as err:
        engine.dispose()
        raise click.ClickException(f"cannot open {shown}: {err.orig}") from err
    if not migrated:
        engine.dispose()
        raise click.ClickException(f"{shown} has no platform tables: {hint}")
    return engine


def _open_session(settings):
    from zhichao.platform.db import make_sessionmaker

    engine = _platform_engine(settings)
    return engine, make_sessionmaker(engine)()


def _import_options(command):
    """The options import-units and import-vehicles share."""
    for option in reversed(
        [
            click.argument(
                "file", type=click.Path(exists=True, dir_okay=False, path_type=Path)
            ),
            click.option(
                "--dry-run", is_flag=True, help="Check every row; write nothing."
            ),
            click.option(
                "--strict", is_flag=True, help="Write nothing when any row is bad."
            ),
            click.option("--sheet", help="Sheet name (default: the first sheet)."),
            click.option(
                "--report",
                "report_file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Also write the bad rows to this CSV file.",
            ),
            database_url_option,
            config_option,
        ]
    ):
        command = option(command)
    return command


@platform.command("import-units")
@_import_options
def import_units_command(
    file, dry_run, strict, sheet, report_file, database_url, config_file
) -> None:
    """Import the county's list of source units from FILE (.xlsx).

    Bad rows are listed with their row number and reason; the good rows are
    written in one transaction. Exit status 1 when any row was bad.
    """
    from zhichao.platform.importer import import_units

    report = _run_import(
        import_units, "import_units", file, dry_run, strict, sheet,
        database_url, config_file,
    )  # fmt: skip
    _print_import_report(report, strict)
    if report_file and report.errors:
        _write_error_report(report_file, report.errors)
    if report.errors:
        raise SystemExit(1)


@platform.command("import-vehicles")
@_import_options
def import_vehicles_command(
    file, dry_run, strict, sheet, report_file, database_url, config_file
) -> None:
    """Import the county's vehicle list, with trailers' tractors, from FILE (.xlsx).

    Columns: 车牌号码, 车牌颜色, 所属区划 (required), 轴数, 轴型, 核定总质量(kg),
    所有人, 运输企业, 牵引车车牌 (docs/platform.md). Bad rows are listed with
    their row number, column and reason; the good rows are written in one
    transaction. Exit status 1 when any row was bad.
    """
    from zhichao.platform.importer import import_vehicles

    report = _run_import(
        import_vehicles, "import_vehicles", file, dry_run, strict, sheet,
        database_url, config_file,
    )  # fmt: skip
    _print_import_report(report, strict)
    click.echo(
        f"tractor-trailer pairs: {report.pairs_added} added,"
        f" {report.pairs_removed} removed"
        + ("" if report.written else " (not written)")
    )
    if report_file and report.errors:
        _write_error_report(report_file, report.errors, with_column=True)
    if report.errors:
        raise SystemExit(1)


def _run_import(run, action, file, dry_run, strict, sheet, database_url, config_file):
    """Run an importer with a progress bar; audit it when it wrote rows."""
    from zhichao.platform.importer import ImportFileError, row_count

    settings = _settings(config_file, database_url=database_url)
    engine, session = _open_session(settings)
    try:
        length = row_count(file, sheet)
        with click.progressbar(length=length or 0, label="读取 reading") as bar:
            report = run(
                session, file, dry_run=dry_run, strict=strict, sheet=sheet,
                progress=bar.update,
            )  # fmt: skip
        if report.written:
            _audit_cli(session, action, str(file), _import_detail(report))
    except ImportFileError as err:
        raise click.ClickException(str(err)) from err
    finally:
        session.close()
        engine.dispose()
    return report


def _import_detail(report) -> dict:
    detail = {
        "rows": report.rows,
        "created": report.created,
        "updated": report.updated,
        "bad_rows": len(report.errors),
    }
    for name in ("pairs_added", "pairs_removed"):
        if hasattr(report, name):
            detail[name] = getattr(report, name)
    return detail


def _print_import_report(report, strict) -> None:
    for error in report.errors:
        click.echo(f"row {error.row}: {error.reason}", err=True)
    state = "written" if report.written else "NOT written"
    if report.dry_run:
        state = "not written (dry run)"
    elif strict and report.errors:
        state = "not written (--strict, bad rows)"
    click.echo(
        f"{report.rows} rows: {report.good} good ({report.created} new,"
        f" {report.updated} updated), {len(report.errors)} bad; {state}"
    )


def _write_error_report(path: Path, errors, with_column: bool = False) -> None:
    import csv

    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        if with_column:
            writer.writerow(["行号 row", "列 column", "原因 reason"])
            writer.writerows(
                [error.row, error.column or "", error.reason] for error in errors
            )
            return
        writer.writerow(["行号 row", "原因 reason"])
        writer.writerows([error.row, error.reason] for error in errors)


@platform.group()
def export() -> None:
    """Export records or source units as CSV or Excel."""


def _scope(region):
    if region is None:
        return None
    from zhichao.platform.regions import code_problem, scope_of

    problem = code_problem(region)
    if problem:
        raise click.BadParameter(f"{region} {problem}", param_hint="--region")
    return scope_of(region)


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx"]),
    default="csv",
    show_default=True,
)
region_option = click.option(
    "--region", help="Only this region and those below it (a code: 140525, 140500)."
)
output_option = click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: records-FROM-TO.FORMAT or units.FORMAT).",
)
DAY_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]


def _beijing_range(start, end):
    from datetime import timedelta

    from zhichao.timeutil import SHANGHAI

    # a bare date as --to means the whole of that day
    if end.hour == end.minute == end.second == 0:
        end += timedelta(days=1)
    start, end = start.replace(tzinfo=SHANGHAI), end.replace(tzinfo=SHANGHAI)
    if end <= start:
        raise click.BadParameter("must be after --from", param_hint="--to")
    return start, end


def _audit_cli(session, action: str, target: str, detail: dict) -> None:
    """An import or export from the command line, into the audit log."""
    import getpass

    from zhichao.platform import audit

    audit.append(
        session,
        username=f"cli:{getpass.getuser()}",
        role="cli",
        region="",
        action=action,
        target=target,
        detail=detail,
        address="local",
    )
    session.commit()


@export.command("records")
@click.option("--from", "start", required=True, type=click.DateTime(DAY_FORMATS))
@click.option("--to", "end", required=True, type=click.DateTime(DAY_FORMATS))
@format_option
@region_option
@output_option
@database_url_option
@config_option
def export_records_command(
    start, end, fmt, region, output, database_url, config_file
) -> None:
    """Export the records detected from --from to --to (Beijing time; a date as
    --to includes that day)."""
    from zhichao.platform import exporter

    scope = _scope(region)
    start, end = _beijing_range(start, end)
    output = output or Path(f"records-{start:%Y%m%d}-{end:%Y%m%d}.{fmt}")
    settings = _settings(config_file, database_url=database_url)
    engine, session = _open_session(settings)
    try:
        total = exporter.count_records(session, start, end, scope)
        with click.progressbar(length=total, label="导出记录 exporting") as bar:
            written = exporter.export_records(
                session, output, start, end, fmt, scope, progress=bar.update
            )
        _audit_cli(
            session,
            "export_records",
            str(output),
            {
                "from": start.isoformat(),
                "to": end.isoformat(),
                "format": fmt,
                "region": region,
                "rows": written,
            },
        )
    finally:
        session.close()
        engine.dispose()
    click.echo(f"{written} records written to {output}")


@export.command("units")
@format_option
@region_option
@output_option
@database_url_option
@config_option
def export_units_command(fmt, region, output, database_url, config_file) -> None:
    """Export the source units."""
    from zhichao.platform import exporter, units

    scope = _scope(region)
    output = output or Path(f"units.{fmt}")
    settings = _settings(config_file, database_url=database_url)
    engine, session = _open_session(settings)
    try:
        total = units.count_units(session, scope)
        with click.progressbar(length=total, label="导出单位 exporting") as bar:
            written = exporter.export_units(
                session, output, fmt, scope, progress=bar.update
            )
        _audit_cli(
            session,
            "export_units",
            str(output),
            {"format": fmt, "region": region, "rows": written},
        )
    finally:
        session.close()
        engine.dispose()
    click.echo(f"{written} units written to {output}")


@platform.command("create-user")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "officer", "enforcement", "supervisor", "operator"]),
    help="admin, officer, enforcement (执法), supervisor (read-only), operator.",
)
@click.option(
    "--region",
    required=True,
    help="GB/T 2260 code of the jurisdiction: 140525 county, 140500 city, "
    "140000 province.",
)
@click.option("--unit", help="Station code of an operator's source unit.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input."
)
@database_url_option
@config_option
def create_user(
    username, role, region, unit, password_stdin, database_url, config_file
) -> None:
    """Add an account that signs in to the pages (asks for its password)."""
    import getpass

    from zhichao.platform import audit
    from zhichao.platform.auth import AuthError, create_user, region_prefix
    from zhichao.platform.db import make_sessionmaker, session_scope

    settings = _settings(config_file, database_url=database_url)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    engine = _platform_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            user = create_user(session, username, password, role, region, unit)
            audit.append(
                session,
                username=f"cli:{getpass.getuser()}",
                role="cli",
                region="",
                action="user_create",
                target=user.username,
                detail={"role": role, "region": region, "unit": unit},
                address="local",
            )
    except AuthError as err:
        raise click.ClickException(str(err)) from err
    finally:
        engine.dispose()
    scope = unit or region_prefix(region) or "all"
    click.echo(f"user {username} created: {role}, jurisdiction {scope}")
