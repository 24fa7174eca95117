import { badInput } from "../errors/domain-error";
import { FormFieldType, MessageKind } from "./enums";
import { PLAIN_TEXT, PLAIN_TEXT_MESSAGE, TRIMMED, TRIMMED_MESSAGE } from "./member-rules";

/** The limits of messaging (issue 14; source §2 where marked). */
export const MAX_GROUP_MEMBERS = 10_000; // source §2
export const RECALL_WINDOW_MS = 24 * 3600_000; // source §2: the sender may recall within 24 hours
/** `remindUnread`: at most once in this time per message (issue 14). */
export const REMIND_INTERVAL_MS = 10 * 60_000;
export const GROUP_NAME_MAX = 64;
/** Members named in one createGroup / addGroupMembers / removeGroupMembers call. */
export const MAX_MEMBERS_PER_CALL = 1000;
export const MESSAGE_TEXT_MAX = 4000;
export const URL_MAX = 2048;
export const TITLE_MAX = 256;
export const LINE_MAX = 64;
export const DESCRIPTION_MAX = 512;
export const FILE_NAME_MAX = 255;
export const MAX_FILE_BYTES = 20 * 1024 ** 3;
export const MAX_TODO_ASSIGNEES = 100;
export const MIN_VOTE_OPTIONS = 2;
export const MAX_VOTE_OPTIONS = 20;
export const MAX_FORM_FIELDS = 20;
export const FORM_ANSWER_MAX = 2000;
/** `clientMessageId`: 1–64 visible ASCII characters (a UUID, a ULID, the client's own key). */
export const CLIENT_MESSAGE_ID = /^[\x21-\x7E]{1,64}$/;

/*
 * App messages (`sendAppMessage`, issue 14 item 3), after WeCom's message/send: at most 1,000
 * members and 100 departments named per call (WeCom's touser / toparty caps); the members they come
 * to, departments expanded with their sub-departments (or `all`), at most 10,000 (a group's size:
 * one transaction stays bounded). A repeat within `dedupeSeconds` (0–14,400: WeCom's
 * duplicate_check_interval, at most 4 hours) is suppressed.
 */
export const MAX_APP_MESSAGE_MEMBER_IDS = 1000;
export const MAX_APP_MESSAGE_DEPARTMENT_IDS = 100;
export const MAX_APP_MESSAGE_RECIPIENTS = 10_000;
export const MAX_DEDUPE_SECONDS = 4 * 3600;

/** Messages are kept 90 days (source §2: stored in the cloud for 90 days); the retention job purges older ones. */
export const MESSAGE_RETENTION_MS = 90 * 24 * 3600_000;
/** How often each gateway instance runs the retention job, and how many messages one of its statements deletes. */
export const RETENTION_INTERVAL_MS = 3600_000;
export const RETENTION_BATCH = 5000;

/** A member's do-not-disturb window: minutes of the day (0–1439) in an IANA time zone; `from` > `to` spans midnight. */
export interface DoNotDisturbWindow {
  fromMinute: number;
  toMinute: number;
  timezone: string;
}

const TIME_OF_DAY = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;

function minuteOfDay(value: unknown, field: string): number {
  const match = typeof value === "string" ? TIME_OF_DAY.exec(value) : null;
  if (!match) throw badInput(field, `${field} must be a time of day "HH:MM" (00:00–23:59).`);
  return Number(match[1]) * 60 + Number(match[2]);
}

/** "HH:MM" of a minute of the day. */
export const timeOfDay = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;

/**
 * `setDoNotDisturb`'s input checked: all three null clears it (null returned); otherwise `from` and
 * `to` are different times "HH:MM" and `timezone` an IANA zone that `Intl.DateTimeFormat` knows
 * (returned in its canonical spelling).
 */
export function normaliseDoNotDisturb(input: { from?: string | null; to?: string | null; timezone?: string | null }): DoNotDisturbWindow | null {
  if (input.from == null && input.to == null && input.timezone == null) return null;
  const fromMinute = minuteOfDay(input.from, "input.from");
  const toMinute = minuteOfDay(input.to, "input.to");
  if (fromMinute === toMinute) throw badInput("input.to", "input.to must differ from input.from (the window would be empty).");
  if (typeof input.timezone !== "string" || input.timezone.length < 1 || input.timezone.length > 64) {
    throw badInput("input.timezone", "input.timezone must be an IANA time zone such as Asia/Shanghai.");
  }
  let timezone: string;
  try {
    timezone = new Intl.DateTimeFormat("en-US", { timeZone: input.timezone }).resolvedOptions().timeZone;
  } catch {
    throw badInput("input.timezone", `input.timezone "${input.timezone}" is not an IANA time zone (e.g. Asia/Shanghai, Europe/Berlin, UTC).`);
  }
  return { fromMinute, toMinute, timezone };
}

/** Is `now` inside the window, in the window's time zone? From `from` included to `to` excluded, across midnight when `from` > `to`. */
export function inDoNotDisturb(window: DoNotDisturbWindow, now: Date): boolean {
  const parts = new Intl.DateTimeFormat("en-GB", { timeZone: window.timezone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(now);
  const minute = Number(parts.find((p) => p.type === "hour")!.value) * 60 + Number(parts.find((p) => p.type === "minute")!.value);
  return window.fromMinute < window.toMinute
    ? minute >= window.fromMinute && minute < window.toMinute
    : minute >= window.fromMinute || minute < window.toMinute;
}

/*
 * Message content: each kind's input checked and normalised here, so the stored content (and the
 * digest that makes a send idempotent) never depends on how the client spelled it. Errors are
 * BAD_USER_INPUT naming the field (`input.vote.options`). Free text (text, markdown, answers) keeps
 * line breaks and tabs and refuses every other control character, NUL included, and lone
 * surrogates; one-line texts (titles, names, options) follow the directory's names (`PLAIN_TEXT`).
 */

// eslint-disable-next-line no-control-regex -- the control characters a message may not hold (C0 but tab and line breaks, DEL, C1)
const FREE_TEXT_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
/** A surrogate that is not half of a pair (PostgreSQL would get U+FFFD instead). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Markdown link and image targets (`[text](target)`, `![alt](target)`, `[ref]: target`) and
 * autolinks (`<scheme:…>`, no spaces) with a scheme other than https or mailto: `javascript:`,
 * `data:`, `http:` (images and link cards are https only too). Relative targets have no scheme.
 */
const MARKDOWN_TARGETS = [/\]\(\s*<?\s*([a-z][a-z0-9+.-]*):/gi, /^\s{0,3}\[[^\]]+\]:\s*<?([a-z][a-z0-9+.-]*):/gim, /<([a-z][a-z0-9+.-]{1,31}):[^\s<>]*>/gi];

/** Markdown: free text whose links and images lead only to https (or mailto) addresses. */
function markdownText(value: unknown, field: string): string {
  const text = freeText(value, field, MESSAGE_TEXT_MAX);
  for (const pattern of MARKDOWN_TARGETS) {
    for (const match of text.matchAll(pattern)) {
      const scheme = match[1].toLowerCase();
      if (scheme !== "https" && scheme !== "mailto") {
        throw badInput(field, `${field} may link only to https:// (or mailto:) addresses; it has a ${scheme}: link.`);
      }
    }
  }
  return text;
}

/** Free text of 1–`max` characters, not only blanks. */
export function freeText(value: unknown, field: string, max: number): string {
  if (typeof value !== "string" || value.trim() === "") throw badInput(field, `${field} must not be empty.`);
  if (value.length > max) throw badInput(field, `${field} must be at most ${max.toLocaleString("en-US")} characters.`);
  if (FREE_TEXT_FORBIDDEN.test(value)) throw badInput(field, `${field} must not contain control characters other than line breaks and tabs.`);
  if (LONE_SURROGATE.test(value)) throw badInput(field, `${field} must be valid Unicode (no lone surrogates).`);
  return value;
}

/** A one-line text of 1–`max` characters (no control or formatting characters, no surrounding blanks). */
export function lineText(value: unknown, field: string, max: number): string {
  if (typeof value !== "string" || value.length < 1 || value.length > max) throw badInput(field, `${field} must be 1–${max} characters.`);
  if (!TRIMMED.test(value)) throw badInput(field, `${field} ${TRIMMED_MESSAGE}.`);
  if (!PLAIN_TEXT.test(value) || LONE_SURROGATE.test(value)) throw badInput(field, `${field} ${PLAIN_TEXT_MESSAGE}.`);
  return value;
}

const optionalLine = (value: string | null | undefined, field: string, max: number) => (value == null ? null : lineText(value, field, max));

/** An absolute https URL without credentials, at most 2,048 characters. */
export function httpsUrl(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length > URL_MAX) throw badInput(field, `${field} must be an https URL of at most ${URL_MAX} characters.`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badInput(field, `${field} must be an absolute https URL.`);
  }
  if (url.protocol !== "https:" || !url.hostname) throw badInput(field, `${field} must be an https URL.`);
  if (url.username || url.password) throw badInput(field, `${field} must not carry a user name or password.`);
  return url.href;
}

function whole(value: number | null | undefined, field: string, min: number, max: number): number | null {
  if (value == null) return null;
  if (!Number.isInteger(value) || value < min || value > max)
    throw badInput(field, `${field} must be a whole number from ${min} to ${max.toLocaleString("en-US")}.`);
  return value;
}

const MIME_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}$/;

/** The content fields of `sendMessage`, exactly one of which a send gives. Todo assignees are primary keys. */
export interface MessageContentInput {
  text?: { content: string } | null;
  markdown?: { content: string } | null;
  image?: { url: string; name?: string | null; width?: number | null; height?: number | null; sizeBytes?: number | null } | null;
  file?: { url: string; name: string; sizeBytes?: number | null; mimeType?: string | null } | null;
  linkCard?: { url: string; title: string; description?: string | null; imageUrl?: string | null } | null;
  todo?: { title: string; assigneePks: string[]; dueAt?: Date | null } | null;
  vote?: { question: string; options: string[]; multiple?: boolean | null; closesAt?: Date | null } | null;
  form?: { title: string; fields: Array<{ label: string; type: FormFieldType; required?: boolean | null; options?: string[] | null }> } | null;
}

const CONTENT_FIELDS = ["text", "markdown", "image", "file", "linkCard", "todo", "vote", "form"] as const;
const KIND_OF: Record<(typeof CONTENT_FIELDS)[number], MessageKind> = {
  text: MessageKind.TEXT,
  markdown: MessageKind.MARKDOWN,
  image: MessageKind.IMAGE,
  file: MessageKind.FILE,
  linkCard: MessageKind.LINK_CARD,
  todo: MessageKind.TODO,
  vote: MessageKind.VOTE,
  form: MessageKind.FORM,
};

/** Stored vote content. */
export interface VoteContentData {
  question: string;
  options: string[];
  multiple: boolean;
  closesAt: string | null;
}
/** Stored to-do content. */
export interface TodoContentData {
  title: string;
  assigneeIds: string[];
  dueAt: string | null;
}
/** Stored form content. */
export interface FormContentData {
  title: string;
  fields: Array<{ label: string; type: FormFieldType; required: boolean; options: string[] }>;
}

function distinct(values: string[], field: string, what: string): string[] {
  if (new Set(values).size !== values.length) throw badInput(field, `${field} must not list the same ${what} twice.`);
  return values;
}

/**
 * The one content field of a send, checked and normalised: none or two are BAD_USER_INPUT on
 * `prefix` (`input`, or `input.message` for `sendAppMessage`); `now` bounds a vote's closing time.
 */
export function normaliseContent(input: MessageContentInput, now: Date, prefix = "input"): { kind: MessageKind; content: Record<string, unknown> } {
  const given = CONTENT_FIELDS.filter((f) => input[f] != null);
  if (given.length !== 1) {
    throw badInput(prefix, `Give exactly one content field (${CONTENT_FIELDS.join(", ")}); this send gives ${given.length ? given.join(" and ") : "none"}.`);
  }
  const field = given[0];
  const at = (name: string) => `${prefix}.${field}.${name}`;
  const kind = KIND_OF[field];
  switch (field) {
    case "text":
      return { kind, content: { content: freeText(input[field]!.content, at("content"), MESSAGE_TEXT_MAX) } };
    case "markdown":
      return { kind, content: { content: markdownText(input[field]!.content, at("content")) } };
    case "image": {
      const v = input.image!;
      return {
        kind,
        content: {
          url: httpsUrl(v.url, at("url")),
          name: optionalLine(v.name, at("name"), FILE_NAME_MAX),
          width: whole(v.width, at("width"), 1, 100_000),
          height: whole(v.height, at("height"), 1, 100_000),
          sizeBytes: whole(v.sizeBytes, at("sizeBytes"), 0, MAX_FILE_BYTES),
        },
      };
    }
    case "file": {
      const v = input.file!;
      if (v.mimeType != null && !MIME_TYPE.test(v.mimeType)) throw badInput(at("mimeType"), `${at("mimeType")} must be a media type such as application/pdf.`);
      return {
        kind,
        content: {
          url: httpsUrl(v.url, at("url")),
          name: lineText(v.name, at("name"), FILE_NAME_MAX),
          sizeBytes: whole(v.sizeBytes, at("sizeBytes"), 0, MAX_FILE_BYTES),
          mimeType: v.mimeType?.toLowerCase() ?? null,
        },
      };
    }
    case "linkCard": {
      const v = input.linkCard!;
      return {
        kind,
        content: {
          url: httpsUrl(v.url, at("url")),
          title: lineText(v.title, at("title"), TITLE_MAX),
          description: v.description == null ? null : freeText(v.description, at("description"), DESCRIPTION_MAX),
          imageUrl: v.imageUrl == null ? null : httpsUrl(v.imageUrl, at("imageUrl")),
        },
      };
    }
    case "todo": {
      const v = input.todo!;
      if (v.assigneePks.length < 1 || v.assigneePks.length > MAX_TODO_ASSIGNEES) {
        throw badInput(at("assigneeIds"), `${at("assigneeIds")} must name 1–${MAX_TODO_ASSIGNEES} members.`);
      }
      const content: TodoContentData = {
        title: lineText(v.title, at("title"), TITLE_MAX),
        assigneeIds: distinct(v.assigneePks, at("assigneeIds"), "member"),
        dueAt: v.dueAt ? v.dueAt.toISOString() : null,
      };
      return { kind, content: { ...content } };
    }
    case "vote": {
      const v = input.vote!;
      if (v.options.length < MIN_VOTE_OPTIONS || v.options.length > MAX_VOTE_OPTIONS) {
        throw badInput(at("options"), `${at("options")} must list ${MIN_VOTE_OPTIONS}–${MAX_VOTE_OPTIONS} options.`);
      }
      if (v.closesAt && v.closesAt.getTime() <= now.getTime()) throw badInput(at("closesAt"), `${at("closesAt")} must be in the future.`);
      const content: VoteContentData = {
        question: lineText(v.question, at("question"), TITLE_MAX),
        options: distinct(
          v.options.map((o) => lineText(o, at("options"), LINE_MAX)),
          at("options"),
          "option",
        ),
        multiple: v.multiple ?? false,
        closesAt: v.closesAt ? v.closesAt.toISOString() : null,
      };
      return { kind, content: { ...content } };
    }
    case "form": {
      const v = input.form!;
      if (v.fields.length < 1 || v.fields.length > MAX_FORM_FIELDS) throw badInput(at("fields"), `${at("fields")} must list 1–${MAX_FORM_FIELDS} fields.`);
      const fields = v.fields.map((f, i) => {
        const path = `${at("fields")}.${i}`;
        const choice = f.type === FormFieldType.CHOICE || f.type === FormFieldType.MULTIPLE_CHOICE;
        const options = f.options ?? [];
        if (choice && (options.length < MIN_VOTE_OPTIONS || options.length > MAX_VOTE_OPTIONS)) {
          throw badInput(`${path}.options`, `${path}.options must list ${MIN_VOTE_OPTIONS}–${MAX_VOTE_OPTIONS} options for a ${f.type} field.`);
        }
        if (!choice && options.length) throw badInput(`${path}.options`, `${path}.options is only for CHOICE and MULTIPLE_CHOICE fields.`);
        return {
          label: lineText(f.label, `${path}.label`, LINE_MAX),
          type: f.type,
          required: f.required ?? false,
          options: distinct(
            options.map((o) => lineText(o, `${path}.options`, LINE_MAX)),
            `${path}.options`,
            "option",
          ),
        };
      });
      distinct(
        fields.map((f) => f.label),
        at("fields"),
        "label",
      );
      const content: FormContentData = { title: lineText(v.title, at("title"), TITLE_MAX), fields };
      return { kind, content: { ...content } };
    }
  }
}

/** One answer of `submitForm`: the field's index and exactly one value of the field's type. */
export interface FormAnswerInput {
  fieldIndex: number;
  text?: string | null;
  number?: number | null;
  choices?: number[] | null;
}

/** The answers of a submission, checked against the form: each field at most once, every required one, values of the field's type. */
export function normaliseAnswers(form: FormContentData, answers: FormAnswerInput[]): Array<Record<string, unknown>> {
  const seen = new Set<number>();
  const result = answers.map((a, i) => {
    const path = `input.answers.${i}`;
    const field = Number.isInteger(a.fieldIndex) ? form.fields[a.fieldIndex] : undefined;
    if (!field) throw badInput(`${path}.fieldIndex`, `${path}.fieldIndex must be the index of one of the form's ${form.fields.length} fields (from 0).`);
    if (seen.has(a.fieldIndex)) throw badInput(`${path}.fieldIndex`, `${path}.fieldIndex answers field ${a.fieldIndex} a second time.`);
    seen.add(a.fieldIndex);
    const values = [a.text, a.number, a.choices].filter((v) => v != null).length;
    if (values !== 1) throw badInput(path, `${path} must give exactly one of text, number or choices.`);
    switch (field.type) {
      case FormFieldType.TEXT:
        if (a.text == null) throw badInput(`${path}.text`, `Field ${a.fieldIndex} ("${field.label}") takes a text.`);
        return { field: a.fieldIndex, text: freeText(a.text, `${path}.text`, FORM_ANSWER_MAX) };
      case FormFieldType.NUMBER:
        if (a.number == null || !Number.isFinite(a.number)) throw badInput(`${path}.number`, `Field ${a.fieldIndex} ("${field.label}") takes a number.`);
        return { field: a.fieldIndex, number: a.number };
      case FormFieldType.CHOICE:
      case FormFieldType.MULTIPLE_CHOICE: {
        const choices = a.choices;
        const single = field.type === FormFieldType.CHOICE;
        if (choices == null || choices.length < 1 || (single && choices.length !== 1)) {
          throw badInput(`${path}.choices`, `Field ${a.fieldIndex} ("${field.label}") takes ${single ? "exactly one choice" : "one or more choices"}.`);
        }
        checkChoices(choices, field.options.length, `${path}.choices`);
        return { field: a.fieldIndex, choices: [...choices].sort((x, y) => x - y) };
      }
    }
  });
  const missing = form.fields.findIndex((f, i) => f.required && !seen.has(i));
  if (missing >= 0) throw badInput("input.answers", `Field ${missing} ("${form.fields[missing].label}") is required.`);
  return result.sort((x, y) => (x.field as number) - (y.field as number));
}

/** Option indexes: each within the `count` options, none twice. */
export function checkChoices(choices: number[], count: number, field: string): void {
  if (choices.some((c) => !Number.isInteger(c) || c < 0 || c >= count)) throw badInput(field, `${field} must be option indexes from 0 to ${count - 1}.`);
  if (new Set(choices).size !== choices.length) throw badInput(field, `${field} must not name an option twice.`);
}
