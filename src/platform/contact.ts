// Contact addresses PayFlow sends notifications to: an email address (a practical subset of RFC 5321:
// no spaces, no control characters, one @, a dotted domain) and an E.164 phone number. Also how logs
// show them: masked, so a log line never carries a whole address.

/** RFC 5321 caps a forward path at 256 octets; 254 leaves room for the angle brackets. */
export const emailAddressLengthMax = 254;
/** The same rule as a JSON Schema / PostgreSQL pattern (also refuses control characters). */
export const emailAddressPattern =
  '^[^\\s@\\u0000-\\u001f\\u007f<>,;:"]+@[^\\s@\\u0000-\\u001f\\u007f<>,;:"]+\\.[^\\s@\\u0000-\\u001f\\u007f<>,;:".]+$';
/** E.164: a plus sign and 8 to 15 digits, no leading zero. */
export const phoneNumberPattern = '^\\+[1-9][0-9]{7,14}$';

const emailAddress = new RegExp(emailAddressPattern, 'u');
const phoneNumber = new RegExp(phoneNumberPattern);

export function isEmailAddress(value: string): boolean {
  return value.length <= emailAddressLengthMax && emailAddress.test(value);
}

export function isPhoneNumber(value: string): boolean {
  return phoneNumber.test(value);
}

/** `jane@example.com` → `j***@example.com`: the first character of the local part and the domain. */
export function maskEmailAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${address.slice(0, 1)}***${address.slice(at)}`;
}

/** `+447700900123` → `+44***23`: the country prefix and the last two digits. */
export function maskPhoneNumber(number: string): string {
  if (!isPhoneNumber(number)) return '***';
  return `${number.slice(0, 3)}***${number.slice(-2)}`;
}
