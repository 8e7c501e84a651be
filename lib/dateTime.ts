// RFC 3339 date-time, checked exactly as ajv-formats' `date-time` checks it (the format JSON
// bodies are validated with), but with one regular expression instead of a split and two more:
// ingestion checks a thousand of these per request.

// The separator is one `t`, `T` or whitespace character and neither half can contain one, so
// this matches exactly what ajv-formats' split-then-match accepts; the time zone is required.
const DATE_TIME = /^(\d\d\d\d)-(\d\d)-(\d\d)[t\s](\d\d):(\d\d):(\d\d(?:\.\d+)?)(?:z|([+-])(\d\d)(?::?(\d\d))?)$/i;
const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const isLeapYear = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);

function validDate(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= (month === 2 && isLeapYear(year) ? 29 : DAYS[month]);
}

/** 23:59:60 is valid only where it is the last second of a UTC day (a leap second). */
function validTime(hr: number, min: number, sec: number, tzSign: number, tzH: number, tzM: number): boolean {
  if (tzH > 23 || tzM > 59) return false;
  if (hr <= 23 && min <= 59 && sec < 60) return true;
  const utcMin = min - tzM * tzSign;
  const utcHr = hr - tzH * tzSign - (utcMin < 0 ? 1 : 0);
  return (utcHr === 23 || utcHr === -1) && (utcMin === 59 || utcMin === -1) && sec < 61;
}

const isDigit = (code: number) => code >= 48 && code <= 57;
const digits = (s: string, at: number, n: number) => {
  let v = 0;
  for (let i = at; i < at + n; i++) v = v * 10 + s.charCodeAt(i) - 48;
  return v;
};
/** `d` marks a digit, anything else stands for itself. */
const UTC_SHAPE = 'dddd-dd-ddTdd:dd:dd';

/** The shape `toISOString` writes (UTC, `T`, `Z`, optional fraction), read without a regular expression; undefined for any other. */
function utcShape(value: string): boolean | undefined {
  const n = value.length;
  if (n < 20 || value.charCodeAt(n - 1) !== 90 /* Z */) return undefined;
  for (let i = 0; i < UTC_SHAPE.length; i++) {
    const code = value.charCodeAt(i);
    if (UTC_SHAPE[i] === 'd' ? !isDigit(code) : code !== UTC_SHAPE.charCodeAt(i)) return undefined;
  }
  if (n > 20) {
    if (n === 21 || value.charCodeAt(19) !== 46 /* . */) return undefined;
    for (let i = 20; i < n - 1; i++) if (!isDigit(value.charCodeAt(i))) return undefined;
  }
  return validDate(digits(value, 0, 4), digits(value, 5, 2), digits(value, 8, 2)) && validTime(digits(value, 11, 2), digits(value, 14, 2), digits(value, 17, 2), 1, 0, 0);
}

export function isDateTime(value: string): boolean {
  const utc = utcShape(value);
  if (utc !== undefined) return utc;
  const m = DATE_TIME.exec(value);
  if (!m) return false;
  return (
    validDate(+m[1], +m[2], +m[3]) &&
    validTime(+m[4], +m[5], +m[6], m[7] === '-' ? -1 : 1, +(m[8] ?? 0), +(m[9] ?? 0))
  );
}
