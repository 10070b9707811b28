import { describe, expect, it } from "vitest";
import { formatIsoInZone, isValidTimeZone, parseZonedDate } from "../src/scheduler/zoned-time.js";

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

describe("parseZonedDate", () => {
  it("reads wall times in the zone, moving a time in the spring gap forward and taking the first of a repeated hour", () => {
    expect(iso(parseZonedDate("2026-01-01", "Europe/Oslo"))).toBe("2025-12-31T23:00:00.000Z");
    expect(iso(parseZonedDate("2026-07-01T12:00", "Europe/Oslo"))).toBe("2026-07-01T10:00:00.000Z");
    expect(iso(parseZonedDate("2026-03-29T02:30", "Europe/Oslo"))).toBe("2026-03-29T01:30:00.000Z");
    expect(iso(parseZonedDate("2026-10-25T02:30", "Europe/Oslo"))).toBe("2026-10-25T00:30:00.000Z");
  });

  it("honours explicit offsets and rejects what is not a date", () => {
    expect(iso(parseZonedDate("2026-01-01T00:00:00.5+05:30", "Europe/Oslo"))).toBe("2025-12-31T18:30:00.500Z");
    expect(iso(parseZonedDate("2026-01-01T00:00Z", "Europe/Oslo"))).toBe("2026-01-01T00:00:00.000Z");
    for (const bad of ["2026-13-01", "2026-02-29", "tomorrow", "2026-01-01T24:00", "2026-01-01T10:00+25:00"]) {
      expect(parseZonedDate(bad, "UTC"), bad).toBeUndefined();
    }
  });
});

describe("formatIsoInZone and isValidTimeZone", () => {
  it("formats with the offset in force at the instant", () => {
    expect(formatIsoInZone("2026-01-01T00:00:00Z", "Europe/Oslo")).toBe("2026-01-01T01:00:00+01:00");
    expect(formatIsoInZone("2026-07-01T00:00:00Z", "Europe/Oslo")).toBe("2026-07-01T02:00:00+02:00");
    expect(formatIsoInZone("2026-01-01T00:00:00Z", "America/St_Johns")).toBe("2025-12-31T20:30:00-03:30");
  });

  it("knows IANA names", () => {
    expect(isValidTimeZone("Europe/Oslo")).toBe(true);
    expect(isValidTimeZone("UTC")).toBe(true);
    expect(isValidTimeZone("Europe/Atlantis")).toBe(false);
    expect(isValidTimeZone("")).toBe(false);
  });
});
