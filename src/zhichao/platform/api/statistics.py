"""Period statistics of the caller's stations: ``GET /api/v1/statistics``."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from zhichao.platform import statistics
from zhichao.platform.api.deps import get_session
from zhichao.platform.api.errors import ApiError

router = APIRouter(prefix="/api/v1", tags=["statistics"])

DAY_HELP = "a Beijing-time day, YYYY-MM-DD (inclusive; default: this month's)"


def period_of(first: str | None, last: str | None) -> statistics.Period:
    """The period asked for; a 422 naming the parameter when it is unusable."""
    try:
        return statistics.parse_period(first, last)
    except statistics.PeriodError as err:
        raise ApiError(422, "invalid_period", str(err)) from err


@router.get(
    "/statistics",
    summary="Passes, overloads and overload-rate bands per station for a period",
    responses={422: {"description": "a bad, reversed or too long period"}},
)
def get_statistics(
    session: Annotated[Session, Depends(get_session)],
    first: Annotated[
        str | None, Query(alias="from", max_length=40, description=DAY_HELP)
    ] = None,
    last: Annotated[
        str | None, Query(alias="to", max_length=40, description=DAY_HELP)
    ] = None,
) -> dict[str, Any]:
    """Every station of the caller's jurisdiction with its counts for the days
    ``from`` to ``to`` (default: this month); see docs/platform.md."""
    period = period_of(first, last)
    return statistics.station_statistics(session, period).as_json()
