// Amounts as the API sends them: exact decimal strings. Every function here
// works on the characters (sign, digits, grouping); none goes through
// Number() or parseFloat, so no amount is ever rounded on its way to the
// screen.

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

// "1234567.50" -> "1,234,567.50"; "-0.30" -> "−0.30". Anything that is not a
// decimal string is shown as it came, so nothing is silently changed.
export function formatAmount(text) {
  if (typeof text !== "string") return text === null || text === undefined ? "" : String(text);
  const m = DECIMAL.exec(text);
  if (!m) return text;
  const digits = m[2].replace(/^0+(?=\d)/, "");
  let grouped = "";
  for (let i = digits.length; i > 0; i -= 3) {
    const part = digits.slice(Math.max(0, i - 3), i);
    grouped = grouped ? part + "," + grouped : part;
  }
  const fraction = m[3] === undefined ? "" : "." + m[3];
  const zero = /^0*$/.test(digits + (m[3] || ""));
  const sign = m[1] && !zero ? "\u2212" : "";
  return sign + grouped + fraction;
}

// An integer of minor units ("-12345", as events carry them) in major
// units at `scale` ("-123.45"), by moving the decimal point.
export function minorToMajor(text, scale) {
  const m = /^(-?)(\d+)$/.exec(String(text));
  if (!m || !Number.isInteger(scale) || scale < 0) return String(text);
  if (scale === 0) return m[1] + m[2];
  const padded = m[2].padStart(scale + 1, "0");
  return m[1] + padded.slice(0, padded.length - scale) + "." + padded.slice(padded.length - scale);
}

// Whether two decimal strings are the same amount ("1.50" and "1.5").
export function sameAmount(a, b) {
  return normalize(a) === normalize(b);
}

function normalize(text) {
  const m = DECIMAL.exec(String(text));
  if (!m) return String(text);
  const whole = m[2].replace(/^0+(?=\d)/, "");
  const fraction = (m[3] || "").replace(/0+$/, "");
  const zero = /^0*$/.test(whole + fraction);
  return (m[1] && !zero ? "-" : "") + whole + (fraction ? "." + fraction : "");
}
