"""Reading the cells of a date column, and what spreadsheets make of dates.

The contract's dates are ISO ``2024-03-07`` or NZ day-first ``7/03/2024``. A spreadsheet may
also export them

- with a time of midnight (``2024-03-07 00:00:00``, ``7/03/2024 0:00``): read as the date;
- as its serial day numbers (``45358``: days since 30 December 1899): read as dates when every
  value of the column is one between 1990 and 2100; where a column mixes them with written
  dates, the numbers are refused (a number there may be anything);
- month first (US order, ``03/25/2024``): refused, and so is every date of that column whose
  day and month could be swapped (``03/04/2024``): the column does not settle which is the day.

A time of day other than midnight is refused: which day it is may depend on the time zone.
:func:`date_reader` decides all this once per column from its distinct values, and says what
it repaired; :func:`read_date` reads one cell on its own.

Examples
--------
>>> read, notes = date_reader(["44692", "44693"])
>>> read("44692")
(Timestamp('2022-05-11 00:00:00'), None)
>>> notes[0][-61:]
'dates (44692 is 2022-05-11; compare one with the spreadsheet)'
"""

from __future__ import annotations

import calendar
import datetime
import re
from typing import Callable

import pandas as pd

from hsp_eval.data.contract import YEAR_MAX, YEAR_MIN

DATE_REASON = "is not a real date (use YYYY-MM-DD, or day/month/year as NZ systems export)"
#: day 0 of spreadsheet serial dates (Excel's 1900 date system, as every current spreadsheet saves)
SERIAL_EPOCH = pd.Timestamp("1899-12-30")
#: serial numbers taken for dates: 1990-01-01 to 2100-12-31
SERIAL_MIN, SERIAL_MAX = 32874, 73415

_MIDNIGHT = re.compile(r"(?P<date>\S+)[ T](?:0?0:00(?::00(?:\.0+)?)?|12:00(?::00)? ?[aA]\.?[mM]\.?)")
_TIME = re.compile(r"(?P<date>\S+)[ T](?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?: ?[aApP]\.?[mM]\.?)?)")
_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_SERIAL = re.compile(r"\d{5}")
_ISO = "%Y-%m-%d"


def read_date(u: str):
    """``(date, None)`` or ``(None, reason)`` for one cell, whatever the rest of its column holds.

    Examples
    --------
    >>> read_date("7/03/2024 0:00")[0], read_date("2024-03-07 14:30")[1][:30]
    (Timestamp('2024-03-07 00:00:00'), 'has a time of day (14:30), so ')
    """
    u = u.strip()
    midnight = _MIDNIGHT.fullmatch(u)
    if midnight:  # a date a spreadsheet wrote with its (empty) time
        u = midnight["date"]
    elif timed := _TIME.fullmatch(u):
        return None, (f"has a time of day ({timed['time']}), so which day it is may depend on the time "
                      f"zone; export the column as dates only (YYYY-MM-DD)")
    for fmt in (_ISO, "%d/%m/%Y"):
        try:
            ts = pd.to_datetime(u, format=fmt)
        except (ValueError, TypeError):
            continue
        if fmt == _ISO and len(u) != 10:
            break
        if not YEAR_MIN <= ts.year <= YEAR_MAX:
            return None, f"has a year outside {YEAR_MIN}-{YEAR_MAX}"
        return ts, None
    if "/" in u and len(u.split("/")) == 3 and len(u.split("/")[2]) == 2:
        return None, "has a two-digit year; write the year in full (7/03/2024)"
    return None, DATE_REASON


def serial_date(n: int) -> pd.Timestamp:
    """The date of spreadsheet serial number ``n``.

    Examples
    --------
    >>> serial_date(44692)
    Timestamp('2022-05-11 00:00:00')
    """
    return SERIAL_EPOCH + pd.Timedelta(days=n)


def _serial(u: str) -> int | None:
    """The number when ``u`` is a plausible spreadsheet serial date, else None."""
    u = u.strip()
    return int(u) if _SERIAL.fullmatch(u) and SERIAL_MIN <= int(u) <= SERIAL_MAX else None


def _read_serial(u: str):
    ts = serial_date(int(u.strip()))
    if not YEAR_MIN <= ts.year <= YEAR_MAX:
        return None, f"is a spreadsheet serial number for {ts:%Y-%m-%d}, a year outside {YEAR_MIN}-{YEAR_MAX}"
    return ts, None


def _numbers(u: str) -> tuple[int, int, int] | None:
    """The three numbers of a slashed date (its midnight time dropped), else None."""
    u = u.strip()
    midnight = _MIDNIGHT.fullmatch(u)
    found = _SLASHED.fullmatch(midnight["date"] if midnight else u)
    return tuple(map(int, found.groups())) if found else None


def _real(year: int, month: int, day: int) -> bool:
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def _month_first_only(u: str) -> bool:
    """True for a slashed date that is a real date month first and not day first (03/25/2024)."""
    n = _numbers(u)
    return n is not None and n[1] > 12 and _real(n[2], n[0], n[1])


def _order_reader(us: str):
    """The reader of a column that has a date written month first (``us``)."""
    def read(u: str):
        n = _numbers(u)
        if n is None:
            return read_date(u)
        first, second, year = n
        if _month_first_only(u):
            return None, (f"is not a real date read day first, as NZ dates are ({second} is not a month); "
                          f"it looks written month first (US order): write dates as YYYY-MM-DD")
        if first <= 12 and second <= 12 and first != second and _real(year, second, first):
            return None, (f"could be {first} {calendar.month_name[second]} or {second} "
                          f"{calendar.month_name[first]}: this column also has dates written month first "
                          f"(such as '{us}'), so which number is the day is not settled; write dates "
                          f"as YYYY-MM-DD")
        return read_date(u)
    return read


def _mixed_reader(read):
    """``read``, refusing the serial numbers of a column that also has written dates."""
    def mixed(u: str):
        n = _serial(u)
        if n is None:
            return read(u)
        return None, (f"looks like a spreadsheet serial number for a date ({n} would be "
                      f"{serial_date(n):%Y-%m-%d}), but other values of this column are written as "
                      f"dates, so it is not read as one; format the column as dates (YYYY-MM-DD) "
                      f"and export again")
    return mixed


def date_reader(values: list[str]) -> tuple[Callable, list[str]]:
    """How to read each cell of a date column, decided from its distinct ``values``.

    Returns
    -------
    (read, notes) : ``read(value) -> (date, None) or (None, reason)``, and what reading the
        column this way repairs, in plain words (none: an empty list).

    Examples
    --------
    >>> read, notes = date_reader(["03/25/2024", "04/03/2024", "2024-04-05 00:00:00"])
    >>> read("04/03/2024")[1][:36], read("2024-04-05 00:00:00")[0], len(notes)
    ('could be 4 March or 3 April: this co', Timestamp('2024-04-05 00:00:00'), 1)
    """
    given = [v.strip() for v in values if v and v.strip()]
    serials = [v for v in given if _serial(v) is not None]
    if serials and len(serials) == len(given):
        return _read_serial, [f"dates stored as spreadsheet serial numbers were read as dates ({serials[0]} "
                              f"is {serial_date(int(serials[0])):%Y-%m-%d}; compare one with the spreadsheet)"]
    us = next((v for v in given if _month_first_only(v)), None)
    read = read_date if us is None else _order_reader(us)
    if serials:
        read = _mixed_reader(read)
    midnight = next((v for v in given if _MIDNIGHT.fullmatch(v) and read(v)[1] is None), None)
    notes = [f"dates written with a time of midnight (such as '{midnight}') were read as the date alone"] \
        if midnight else []
    return read, notes
