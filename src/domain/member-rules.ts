import { isEmail, ValidateBy } from "class-validator";

/**
 * The formats of member and department fields, in one place: the GraphQL inputs
 * (`directory.types.ts`, class-validator decorators) and the batch import (`checkMemberRow`) use
 * these same constants, so a row the import accepts is a row `createMember` would accept.
 */

/** No leading or trailing blanks, at least one visible character. */
export const TRIMMED = /^\S(?:[\s\S]*\S)?$/;
export const TRIMMED_MESSAGE = "must not be blank or start or end with spaces";
/**
 * Names and titles are shown to people: no control characters (Cc: line breaks, bells), no format
 * characters (Cf: bidirectional overrides, isolates and marks, `Admin\u202Egnp.exe` shows as
 * `Adminexe.png`; zero-width characters, soft hyphens, the BOM), no line or paragraph separators
 * (Zl, Zp), and no Hangul fillers (blank-looking letters): two names must not look the same while
 * differing, nor look different from what they are (issue 11).
 */
export const PLAIN_TEXT = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u115F\u1160\u3164\uFFA0]*$/u;
export const PLAIN_TEXT_MESSAGE = "must not contain control, zero-width or bidirectional-formatting characters";

/** class-validator decorator for `PLAIN_TEXT` on an input field (`what` starts the message). */
export const PlainText = (what: string) =>
  ValidateBy({
    name: "plainText",
    validator: { validate: (v: unknown) => typeof v !== "string" || PLAIN_TEXT.test(v), defaultMessage: () => `${what} ${PLAIN_TEXT_MESSAGE}` },
  });
export const EMPLOYEE_ID = /^[A-Za-z0-9._@-]{1,64}$/;
export const EMPLOYEE_ID_MESSAGE = "employeeId must be 1–64 letters, digits, '.', '_', '-' or '@'";
export const EXTENSION = /^[0-9+*#-]{1,32}$/;
export const EXTENSION_MESSAGE = "extension must be 1–32 digits, '+', '-', '*' or '#'";
export const MOBILE = /^\+?[0-9]{5,20}$/;
export const MOBILE_MESSAGE = "mobile must be an optional '+' and 5–20 digits";
export const EMAIL_MESSAGE = "email must be an email address";
export const NAME_MAX = 64;
export const TITLE_MAX = 128;
export const EMAIL_MAX = 254;
export const DEPARTMENT_NAME_MAX = 64;

/** The profile fields of a member as a file row carries them (empty optional cells are null). */
export interface MemberRowFields {
  employeeId: string;
  name: string;
  title: string | null;
  extension: string | null;
  mobile: string | null;
  email: string | null;
}

/** The first rule a row breaks, as `createMember` would report it (field without the `input.` prefix), or null. */
export function checkMemberRow(row: MemberRowFields): { field: string; message: string } | null {
  if (!EMPLOYEE_ID.test(row.employeeId)) return { field: "employeeId", message: EMPLOYEE_ID_MESSAGE };
  if (row.name.length < 1 || row.name.length > NAME_MAX) return { field: "name", message: `name must be 1–${NAME_MAX} characters` };
  if (!TRIMMED.test(row.name)) return { field: "name", message: `name ${TRIMMED_MESSAGE}` };
  if (!PLAIN_TEXT.test(row.name)) return { field: "name", message: `name ${PLAIN_TEXT_MESSAGE}` };
  if (row.title !== null && row.title.length > TITLE_MAX) return { field: "title", message: `title must be at most ${TITLE_MAX} characters` };
  if (row.title !== null && !PLAIN_TEXT.test(row.title)) return { field: "title", message: `title ${PLAIN_TEXT_MESSAGE}` };
  if (row.extension !== null && !EXTENSION.test(row.extension)) return { field: "extension", message: EXTENSION_MESSAGE };
  if (row.mobile !== null && !MOBILE.test(row.mobile)) return { field: "mobile", message: MOBILE_MESSAGE };
  if (row.email !== null && (row.email.length > EMAIL_MAX || !isEmail(row.email))) return { field: "email", message: EMAIL_MESSAGE };
  return null;
}

/** Why a department name is refused (the rules of `createDepartment`), or null. */
export function checkDepartmentName(name: string): string | null {
  if (name.length < 1 || name.length > DEPARTMENT_NAME_MAX) return `department names must be 1–${DEPARTMENT_NAME_MAX} characters`;
  if (!TRIMMED.test(name)) return `department names ${TRIMMED_MESSAGE}`;
  if (!PLAIN_TEXT.test(name)) return `department names ${PLAIN_TEXT_MESSAGE}`;
  return null;
}
