"""Schedules of the county's hospitals and centers, and a year of bookings behind the visits.

Bookings follow the visits: the stage listens to the outpatient encounters as they are written
and books a share of them (55% at county hospitals, 25% at township and community centers;
village clinics and private hospitals take no bookings), and every visit referred up, which
its referring doctor booked on the referral channel; each in a session of the same
institution and department on the day of the visit, called when the visit began. No-shows
(爽约) and cancellations are drawn beside them, on the same sessions. A booked visit goes to
the doctor's own schedule when a senior physician saw the patient on one of his half-days,
otherwise to a department clinic room.

Rooms and places follow the demand: a department opens as many clinic rooms on a half-day as
its busiest such half-day needs (``ROOM_LOAD`` bookings a room), and each schedule has the
fewest places per slice with which at most ``FULL_SHARE`` of its bookings find their session
full. Places are taken as the booking service gives them (a channel's own, or a released
referral place for a public channel); a patient who finds none, or who comes to a kiosk or
window when his channel's places are over, is seen as a walk-in without a booking.

Only sessions that have bookings are written, each with all of its slots, numbered as
``booking.service.schedules`` numbers them.

The parts, in the order the stage runs them:

- ``schedules``: the schedule catalog (day clinics, doctors, exams, vaccination, night
  clinics) and the senior doctors who run doctors' schedules;
- ``visits``: the bookings drawn from each month's outpatient encounters as they are written;
- ``plan``: the year's bookings routed to schedules, grouped in sessions, the places sized
  to demand, and numbered in slots;
- ``writer``: the schedules, sessions, slots and bookings written from the plan;
- ``factory``: ``BookingFactory``, which ties them together for ``synth.county``.
"""

from yigongti.synth.booking.factory import BookingFactory
from yigongti.synth.booking.schedules import senior_doctors
from yigongti.synth.booking.writer import BookingTally

__all__ = ["BookingFactory", "BookingTally", "senior_doctors"]
