"""The statistics page: passes, overloads and overload-rate bands per station
of the caller's jurisdiction for a period of Beijing-time days."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from zhichao.platform import statistics
from zhichao.platform.api.deps import get_session
from zhichao.platform.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/statistics", response_class=HTMLResponse)
def statistics_page(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    first: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    last: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Response:
    """The counts of the days asked for; a bad period is shown on the page
    above this month's form, with status 422."""
    today = statistics.today_in_shanghai()
    month = statistics.this_month(today)
    try:
        period = statistics.parse_period(first or None, last or None, today)
    except statistics.PeriodError as err:
        context = {
            "error": str(err),
            "chosen": {"from": first or "", "to": last or ""},
            "month": month,
            "result": None,
            "bands": statistics.BAND_NAMES,
        }
        return render(request, "statistics.html", context, status_code=422)

    result = statistics.station_statistics(session, period)
    context = {
        "error": None,
        "chosen": {"from": period.first.isoformat(), "to": period.last.isoformat()},
        "month": month,
        "result": result,
        "bands": statistics.BAND_NAMES,
    }
    return render(request, "statistics.html", context)
