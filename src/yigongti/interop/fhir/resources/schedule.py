"""Schedule: what can be booked at an institution (排班): a doctor, a department clinic, an exam.

``actor`` is the doctor (``Practitioner/<id>``) when the schedule is a doctor's, and always the
department's Location (``Location/<department id>``: each department is a Location of its
institution). ``serviceType`` is the department (科室 code), ``serviceCategory`` what is booked
(doctor, clinic, CT, ...), ``planningHorizon`` today through the days the schedule releases
ahead, ``comment`` the preparation instructions of an exam. Schedules are public information:
any logged-in user reads them, nothing is audited.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from yigongti import booking, registry
from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import invalid
from yigongti.interop.fhir.resource import ResourceType, register
from yigongti.interop.fhir.resources.scheduling import (
    department_code,
    department_concept,
    ids_of,
    instant,
    resource_concept,
)
from yigongti.interop.fhir.search import Query, SearchParam
from yigongti.kernel import SHANGHAI, local, now

if TYPE_CHECKING:
    from yigongti.booking.models import Schedule


@register
class ScheduleType(ResourceType):
    """Schedule over ``booking`` (schedules)."""

    name = "Schedule"
    doc = (
        "Bookable schedules of every institution: a doctor's, a department clinic's or an exam "
        "resource's; actor = Practitioner and the department's Location."
    )
    search_params = (
        SearchParam("_id", "token", "the schedule's id"),
        SearchParam("actor", "reference", "Practitioner/<id> or Location/<department id>"),
        SearchParam("date", "date", "schedules with a clinic session on these days"),
        SearchParam("service-type", "token", "department code (科室代码)"),
        SearchParam("active", "token", "true | false"),
        SearchParam("organization", "reference", "the institution (custom)", target="Organization"),
    )

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """One schedule."""
        return schedule_of(ctx, booking.get_schedule(ctx.session, resource_id))

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """Schedules by actor, session days, department, activity and institution."""
        days = query.date("date")
        code = department_code(query)
        department_ids = None
        if code is not None:
            _, institutions = registry.list_institutions(
                ctx.session, registry.InstitutionQuery(limit=5000)
            )
            department_ids = tuple(
                d.id for i in institutions for d in i.departments if d.code == code
            )
        total, found = booking.find_schedules(
            ctx.session,
            booking.ScheduleQuery(
                ids=ids_of(query),
                actor_id=query.reference("actor"),
                institution_id=query.reference("organization"),
                department_ids=department_ids,
                active=_active(query),
                day_from=local(days.start).date() if days and days.start else None,
                day_to=_last_day(days.end) if days and days.end else None,
            ),
            limit=query.count,
            offset=query.offset,
        )
        return total, [schedule_of(ctx, s) for s in found]


def _active(query: Query) -> bool | None:
    token = query.token("active")
    if token is None:
        return None
    if token.code not in ("true", "false"):
        raise invalid("'active' is true or false", "'active' 应为 true 或 false", "active")
    return token.code == "true"


def _last_day(end: datetime) -> date:
    return local(end - timedelta(microseconds=1)).date()


def schedule_of(ctx: Context, schedule: Schedule) -> dict:
    """A booking schedule as a FHIR Schedule."""
    institution = registry.get_institution(ctx.session, schedule.institution_id)
    department = next(d for d in institution.departments if d.id == schedule.department_id)
    actors = []
    if schedule.practitioner_id is not None:
        actors.append(
            {"reference": f"Practitioner/{schedule.practitioner_id}", "display": schedule.name}
        )
    actors.append(
        {
            "reference": f"Location/{department.id}",
            "display": f"{institution.name} {department.name}",
        }
    )
    today = local(now()).date()
    horizon_end = today + timedelta(days=schedule.release_days + 1)
    found: dict = {
        "resourceType": "Schedule",
        "id": str(schedule.id),
        "active": bool(schedule.active),
        "serviceCategory": [resource_concept(schedule.resource)],
        "serviceType": [department_concept(department.code, department.name)],
        "actor": actors,
        "planningHorizon": {
            "start": instant(datetime.combine(today, time(), tzinfo=SHANGHAI)),
            "end": instant(datetime.combine(horizon_end, time(), tzinfo=SHANGHAI)),
        },
    }
    if schedule.preparation:
        found["comment"] = schedule.preparation
    return found
