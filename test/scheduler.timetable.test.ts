import { describe, expect, it } from "vitest";
import {
  formatDs, intervalsBetween, manualRunInterval, MAX_BACKFILL_INTERVALS, nextDueAt, nextRunInterval, ScheduleError,
  validateSchedule, type TimetableDag,
} from "../src/scheduler/timetable.js";

const daily: TimetableDag = { schedule: "@daily", timezone: "UTC", startDate: "2026-01-01", endDate: null, catchup: true };
const at = (iso: string): Date => new Date(iso);
const hours = (i: { dataIntervalStart: string; dataIntervalEnd: string }): number =>
  (Date.parse(i.dataIntervalEnd) - Date.parse(i.dataIntervalStart)) / 3_600_000;

function scheduleError(f: () => unknown): ScheduleError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ScheduleError);
    return e as ScheduleError;
  }
  throw new Error("expected a ScheduleError");
}

describe("nextRunInterval with catchup", () => {
  it("creates every missed daily interval in order, each due once its end has passed", () => {
    const now = at("2026-01-03T12:00:00Z");
    expect(nextRunInterval(daily, null, now)).toEqual({
      logicalDate: "2026-01-01T00:00:00.000Z", dataIntervalStart: "2026-01-01T00:00:00.000Z", dataIntervalEnd: "2026-01-02T00:00:00.000Z",
    });
    expect(nextRunInterval(daily, "2026-01-01T00:00:00.000Z", now)?.logicalDate).toBe("2026-01-02T00:00:00.000Z");
    // [01-03, 01-04) is not complete at noon on 01-03.
    expect(nextRunInterval(daily, "2026-01-02T00:00:00.000Z", now)).toBeNull();
    expect(nextDueAt(daily, "2026-01-02T00:00:00.000Z", now)?.toISOString()).toBe("2026-01-04T00:00:00.000Z");
  });

  it("makes an interval due exactly when its end is reached", () => {
    expect(nextRunInterval(daily, null, at("2026-01-01T23:59:59.999Z"))).toBeNull();
    expect(nextRunInterval(daily, null, at("2026-01-02T00:00:00.000Z"))?.logicalDate).toBe("2026-01-01T00:00:00.000Z");
  });

  it("creates nothing before startDate and reports when the first run becomes due", () => {
    const now = at("2025-12-15T00:00:00Z");
    expect(nextRunInterval(daily, null, now)).toBeNull();
    expect(nextDueAt(daily, null, now)?.toISOString()).toBe("2026-01-02T00:00:00.000Z");
  });
});

describe("nextRunInterval without catchup", () => {
  const noCatchup: TimetableDag = { ...daily, catchup: false };
  const now = at("2026-01-10T12:00:00Z");

  it("creates only the latest complete interval", () => {
    expect(nextRunInterval(noCatchup, null, now)?.logicalDate).toBe("2026-01-09T00:00:00.000Z");
    expect(nextRunInterval(noCatchup, "2026-01-02T00:00:00.000Z", now)?.logicalDate).toBe("2026-01-09T00:00:00.000Z");
    expect(nextRunInterval(noCatchup, "2026-01-09T00:00:00.000Z", now)).toBeNull();
    expect(nextDueAt(noCatchup, "2026-01-09T00:00:00.000Z", now)?.toISOString()).toBe("2026-01-11T00:00:00.000Z");
  });

  it("never creates an interval before startDate", () => {
    const recent: TimetableDag = { ...noCatchup, startDate: "2026-01-10" };
    expect(nextRunInterval(recent, null, now)).toBeNull();
    expect(nextDueAt(recent, null, now)?.toISOString()).toBe("2026-01-11T00:00:00.000Z");
    expect(nextRunInterval(recent, null, at("2026-01-11T00:00:00Z"))?.logicalDate).toBe("2026-01-10T00:00:00.000Z");
  });
});

describe("startDate alignment", () => {
  it("starts at the first cron tick at or after startDate", () => {
    const dag: TimetableDag = { ...daily, schedule: "0 3 * * *", startDate: "2026-01-01T05:00" };
    expect(nextRunInterval(dag, null, at("2026-02-01T00:00:00Z"))).toEqual({
      logicalDate: "2026-01-02T03:00:00.000Z", dataIntervalStart: "2026-01-02T03:00:00.000Z", dataIntervalEnd: "2026-01-03T03:00:00.000Z",
    });
    const onTick: TimetableDag = { ...daily, schedule: "0 3 * * *", startDate: "2026-01-01T03:00:00Z" };
    expect(nextRunInterval(onTick, null, at("2026-02-01T00:00:00Z"))?.logicalDate).toBe("2026-01-01T03:00:00.000Z");
  });

  it("reads a startDate without offset in the DAG's time zone, and honours an explicit offset", () => {
    const oslo: TimetableDag = { ...daily, timezone: "Europe/Oslo" };
    expect(nextRunInterval(oslo, null, at("2026-02-01T00:00:00Z"))?.logicalDate).toBe("2025-12-31T23:00:00.000Z");
    const hourly: TimetableDag = { ...daily, schedule: "@hourly", timezone: "Europe/Oslo", startDate: "2026-01-01T00:30:00+03:00" };
    // 00:30+03:00 is 21:30Z; the first hourly tick after it is 22:00Z.
    expect(nextRunInterval(hourly, null, at("2026-02-01T00:00:00Z"))?.logicalDate).toBe("2025-12-31T22:00:00.000Z");
  });

  it("moves a run that is behind startDate up to startDate", () => {
    expect(nextRunInterval(daily, "2025-06-01T00:00:00.000Z", at("2026-01-05T00:00:00Z"))?.logicalDate).toBe("2026-01-01T00:00:00.000Z");
  });
});

describe("time zones across daylight-saving changes (Europe/Oslo)", () => {
  const oslo: TimetableDag = { schedule: "@daily", timezone: "Europe/Oslo", startDate: "2026-03-27", endDate: null, catchup: true };

  it("keeps @daily at local midnight: 23-hour and 25-hour intervals on the change days", () => {
    const spring = intervalsBetween(oslo, at("2026-03-27T00:00:00Z"), at("2026-03-30T00:00:00Z"));
    expect(spring.map((i) => i.logicalDate)).toEqual(["2026-03-27T23:00:00.000Z", "2026-03-28T23:00:00.000Z", "2026-03-29T22:00:00.000Z"]);
    expect(spring.map(hours)).toEqual([24, 23, 24]);
    expect(spring.map((i) => formatDs(i.logicalDate, "Europe/Oslo"))).toEqual(["2026-03-28", "2026-03-29", "2026-03-30"]);
    const autumn = intervalsBetween(oslo, at("2026-10-24T00:00:00Z"), at("2026-10-25T12:00:00Z"));
    expect(autumn.map((i) => i.logicalDate)).toEqual(["2026-10-24T22:00:00.000Z"]);
    expect(autumn.map(hours)).toEqual([25]);
  });

  it("walks the same intervals one run at a time through nextRunInterval", () => {
    let last: string | null = null;
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const next = nextRunInterval(oslo, last, at("2026-04-01T00:00:00Z"));
      if (!next) break;
      seen.push(formatDs(next.logicalDate, "Europe/Oslo"));
      last = next.logicalDate;
    }
    expect(seen).toEqual(["2026-03-27", "2026-03-28", "2026-03-29", "2026-03-30"]);
  });

  it("gives @hourly 23 intervals on the spring day and 25 on the autumn day, all one hour long", () => {
    const hourly: TimetableDag = { ...oslo, schedule: "@hourly" };
    const spring = intervalsBetween(hourly, at("2026-03-28T23:00:00Z"), at("2026-03-29T21:59:59Z"));
    expect(spring).toHaveLength(23);
    expect(new Set(spring.map(hours))).toEqual(new Set([1]));
    const autumn = intervalsBetween(hourly, at("2026-10-24T22:00:00Z"), at("2026-10-25T22:59:59Z"));
    expect(autumn).toHaveLength(25);
  });

  it("runs a 02:30 job once on both change days (at 03:00 when 02:30 does not exist)", () => {
    const job: TimetableDag = { ...oslo, schedule: "30 2 * * *" };
    const spring = intervalsBetween(job, at("2026-03-28T00:00:00Z"), at("2026-03-30T12:00:00Z"));
    expect(spring.map((i) => i.logicalDate)).toEqual(["2026-03-28T01:30:00.000Z", "2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z"]);
    const autumn = intervalsBetween(job, at("2026-10-24T00:00:00Z"), at("2026-10-26T12:00:00Z"));
    expect(autumn.map((i) => i.logicalDate)).toEqual(["2026-10-24T00:30:00.000Z", "2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]);
  });
});

describe("@once, endDate and manual DAGs", () => {
  const once: TimetableDag = { schedule: "@once", timezone: "UTC", startDate: "2026-01-05T06:00:00Z", endDate: null, catchup: false };

  it("@once makes a single run whose logical date is startDate", () => {
    expect(nextRunInterval(once, null, at("2026-01-01T00:00:00Z"))).toBeNull();
    expect(nextDueAt(once, null, at("2026-01-01T00:00:00Z"))?.toISOString()).toBe("2026-01-05T06:00:00.000Z");
    expect(nextRunInterval(once, null, at("2026-02-01T00:00:00Z"))).toEqual({
      logicalDate: "2026-01-05T06:00:00.000Z", dataIntervalStart: "2026-01-05T06:00:00.000Z", dataIntervalEnd: "2026-01-05T06:00:00.000Z",
    });
    expect(nextRunInterval(once, "2026-01-05T06:00:00.000Z", at("2026-02-01T00:00:00Z"))).toBeNull();
    expect(nextDueAt(once, "2026-01-05T06:00:00.000Z", at("2026-02-01T00:00:00Z"))).toBeNull();
  });

  it("endDate bounds logical dates, with and without catchup", () => {
    const bounded: TimetableDag = { ...daily, endDate: "2026-01-03" };
    const later = at("2026-03-01T00:00:00Z");
    expect(nextRunInterval(bounded, "2026-01-02T00:00:00.000Z", later)?.logicalDate).toBe("2026-01-03T00:00:00.000Z");
    expect(nextRunInterval(bounded, "2026-01-03T00:00:00.000Z", later)).toBeNull();
    expect(nextDueAt(bounded, "2026-01-03T00:00:00.000Z", later)).toBeNull();
    // Without catchup the latest interval within the bounds is still created once.
    expect(nextRunInterval({ ...bounded, catchup: false }, null, later)?.logicalDate).toBe("2026-01-03T00:00:00.000Z");
    expect(nextRunInterval({ ...bounded, catchup: false }, "2026-01-03T00:00:00.000Z", later)).toBeNull();
  });

  it("a manual DAG is never scheduled; a manual run covers [now, now]", () => {
    const manual: TimetableDag = { schedule: null, timezone: "UTC", startDate: null, endDate: null, catchup: false };
    const now = at("2026-05-01T10:11:12.131Z");
    expect(nextRunInterval(manual, null, now)).toBeNull();
    expect(nextDueAt(manual, null, now)).toBeNull();
    expect(manualRunInterval(manual, now)).toEqual({
      logicalDate: "2026-05-01T10:11:12.131Z", dataIntervalStart: "2026-05-01T10:11:12.131Z", dataIntervalEnd: "2026-05-01T10:11:12.131Z",
    });
  });
});

describe("intervalsBetween (backfill)", () => {
  it("returns every interval whose logical date is in the inclusive range", () => {
    const got = intervalsBetween(daily, at("2026-02-01T00:00:00Z"), at("2026-02-05T00:00:00Z"));
    expect(got.map((i) => i.logicalDate.slice(0, 10))).toEqual(["2026-02-01", "2026-02-02", "2026-02-03", "2026-02-04", "2026-02-05"]);
    expect(got[4]?.dataIntervalEnd).toBe("2026-02-06T00:00:00.000Z");
    // A start between ticks begins at the next tick.
    expect(intervalsBetween(daily, at("2026-02-01T00:00:01Z"), at("2026-02-02T23:00:00Z")).map((i) => i.logicalDate))
      .toEqual(["2026-02-02T00:00:00.000Z"]);
  });

  it("handles @once and refuses manual DAGs and reversed ranges", () => {
    const once: TimetableDag = { ...daily, schedule: "@once" };
    expect(intervalsBetween(once, at("2025-12-01T00:00:00Z"), at("2026-02-01T00:00:00Z"))).toHaveLength(1);
    expect(intervalsBetween(once, at("2026-02-01T00:00:00Z"), at("2026-03-01T00:00:00Z"))).toHaveLength(0);
    const manual = scheduleError(() => intervalsBetween({ ...daily, schedule: null }, at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z")));
    expect(manual.field).toBe("schedule");
    const reversed = scheduleError(() => intervalsBetween(daily, at("2026-01-05T00:00:00Z"), at("2026-01-01T00:00:00Z")));
    expect(reversed.field).toBe("range");
  });

  it(`refuses more than ${MAX_BACKFILL_INTERVALS} intervals with a clear error`, () => {
    const everyMinute: TimetableDag = { ...daily, schedule: "* * * * *" };
    // 10,000 minutes exactly is allowed (both ends inclusive: 0..9999).
    expect(intervalsBetween(everyMinute, at("2026-01-01T00:00:00Z"), at(new Date(Date.parse("2026-01-01T00:00:00Z") + 9_999 * 60_000).toISOString()))).toHaveLength(10_000);
    const e = scheduleError(() => intervalsBetween(everyMinute, at("2026-01-01T00:00:00Z"), at("2026-01-08T00:00:00Z")));
    expect(e.field).toBe("range");
    expect(e.message).toMatch(/more than 10000 intervals.*split it/);
  });
});

describe("validateSchedule", () => {
  const cases: Array<[string, () => void, string, RegExp]> = [
    ["unknown time zone", () => validateSchedule("@daily", "Mars/Olympus", "2026-01-01", null), "timezone", /Mars\/Olympus.*IANA.*Europe\/Oslo/],
    ["missing startDate", () => validateSchedule("@daily", "UTC", null, null), "startDate", /needs a startDate.*schedule: null/],
    ["bad startDate", () => validateSchedule("@daily", "UTC", "01/02/2026", null), "startDate", /startDate "01\/02\/2026" is not a date: use "2026-01-01"/],
    ["impossible date", () => validateSchedule("@daily", "UTC", "2026-02-30", null), "startDate", /2026-02-30/],
    ["endDate before startDate", () => validateSchedule("@daily", "UTC", "2026-02-01", "2026-01-01"), "endDate", /before startDate/],
    ["bad minute", () => validateSchedule("61 * * * *", "UTC", "2026-01-01", null), "schedule", /minute \(0-59\) field "61" is invalid/],
    ["bad day-of-week", () => validateSchedule("0 0 * * FUNDAY", "UTC", "2026-01-01", null), "schedule", /day-of-week.*"FUNDAY"/],
    ["four fields", () => validateSchedule("0 0 * *", "UTC", "2026-01-01", null), "schedule", /has 4 fields.*5 fields/],
    ["unknown preset", () => validateSchedule("@fortnightly", "UTC", "2026-01-01", null), "schedule", /not a known preset.*@hourly/],
    ["never matches", () => validateSchedule("0 0 30 2 *", "UTC", "2026-01-01", null), "schedule", /never matches/],
  ];
  for (const [name, f, field, message] of cases) {
    it(`rejects ${name}, naming ${field}`, () => {
      const e = scheduleError(f);
      expect(e.field).toBe(field);
      expect(e.message).toMatch(message);
    });
  }

  it("accepts presets, cron with names, manual DAGs without dates and date-times with offsets", () => {
    for (const s of ["@once", "@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "*/15 9-17 * * MON-FRI", "0 0 L * *"]) {
      expect(() => validateSchedule(s, "Europe/Oslo", "2026-01-01", null)).not.toThrow();
    }
    expect(() => validateSchedule(null, "UTC", null, null)).not.toThrow();
    expect(() => validateSchedule("@daily", "America/New_York", "2026-01-01T06:00:00-05:00", "2026-12-31T23:59:59.999Z")).not.toThrow();
  });

  it("reports a bad DAG through the scheduling functions too", () => {
    expect(scheduleError(() => nextRunInterval({ ...daily, timezone: "Nowhere" }, null, new Date())).field).toBe("timezone");
  });
});

describe("formatDs", () => {
  it("gives the date of an instant in a zone", () => {
    expect(formatDs("2025-12-31T23:30:00Z", "UTC")).toBe("2025-12-31");
    expect(formatDs("2025-12-31T23:30:00Z", "Europe/Oslo")).toBe("2026-01-01");
    expect(formatDs("2026-01-01T03:00:00Z", "America/Los_Angeles")).toBe("2025-12-31");
  });
});
