import { freeText, MESSAGE_TEXT_MAX } from "./messaging";
import { DomainError } from "../errors/domain-error";

/** The limits of group robots (issue 14, item 7; source §2: a bot in a group posts through a webhook URL with a secret key). */
export const MAX_BOTS_PER_GROUP = 10;
export const BOT_NAME_MAX = 64;
export const MAX_RULES_PER_BOT = 100;
export const KEYWORD_MAX = 32;
/**
 * Posts a robot may make: 20 a minute (WeCom's group robots: 20 a minute), as a token bucket: a
 * burst of 20, then one every 3 s. Counted in thirds so the refill is a whole point a second (20/60
 * is no exact binary fraction: "one post every 3 s" would come out at 3.001 s): 60 points, 1 a
 * second, 3 a post.
 */
export const BOT_POSTS_PER_MINUTE = 20;
export const BOT_POST_POINTS = 3;
export const BOT_BUCKET = { capacity: BOT_POSTS_PER_MINUTE * BOT_POST_POINTS, restoreRate: (BOT_POSTS_PER_MINUTE * BOT_POST_POINTS) / 60 } as const;
/** A robot's bucket in the rate limiter's store: its webhook posts and its auto-replies both pay from it. */
export const botBucketKey = (corpPk: string, botPk: string) => `group-bot:${corpPk}:${botPk}`;
/**
 * Requests with a key no robot has, per client address (IPv6: per /64) and minute; more get 429
 * (45009) before their body is read or their key looked up, like the other credential endpoints.
 */
export const BOT_KEY_FAILURES_PER_MINUTE = 30;
/** Largest body `POST /hooks/bots/:key` reads (a 4,000-character message is at most 16 KB of UTF-8). */
export const BOT_HOOK_BODY_LIMIT = "64kb";

/**
 * The error codes of `POST /hooks/bots/:key`, WeCom's (企业微信全局错误码) where it has one, each with the HTTP
 * status the gateway answers with (WeCom itself answers 200 for all of them; a status lets proxies
 * and retry logic tell a refusal from a success without reading the body).
 */
export const BOT_ERRCODES = {
  /** Accepted. */
  OK: { errcode: 0, status: 200 },
  /** Something failed inside the gateway ("system busy", retry later); nothing was posted. */
  SYSTEM_BUSY: { errcode: -1, status: 500 },
  /** `msgtype` missing or not one the gateway posts (`text`, `markdown`). */
  INVALID_MESSAGE_TYPE: { errcode: 40008, status: 400 },
  /** The body is not a JSON object, or a field is of the wrong type, too long or holds control characters. */
  INVALID_PARAMETER: { errcode: 40058, status: 400 },
  /** `text.content` / `markdown.content` missing or blank. */
  EMPTY_CONTENT: { errcode: 44004, status: 400 },
  /** More than 20 posts in a minute (with `Retry-After`). */
  FREQUENCY_LIMIT: { errcode: 45009, status: 429 },
  /** No robot has this key (never had, rotated, or removed). */
  INVALID_WEBHOOK: { errcode: 93000, status: 404 },
} as const;
export type BotErrorKind = keyof typeof BOT_ERRCODES;

/** A refusal of `POST /hooks/bots/:key`, answered as `{"errcode": …, "errmsg": …}`. */
export class BotHookError extends Error {
  constructor(
    readonly kind: BotErrorKind,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  get errcode(): number {
    return BOT_ERRCODES[this.kind].errcode;
  }

  get status(): number {
    return BOT_ERRCODES[this.kind].status;
  }
}

/** A robot post, checked: the kind of message and its content. */
export interface BotPost {
  msgtype: "text" | "markdown";
  content: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Reads a body in WeCom's group-robot format: `{"msgtype":"text","text":{"content":…}}` or
 * `{"msgtype":"markdown","markdown":{"content":…}}`. The content follows `sendMessage`'s rules for
 * text and markdown (1–4,000 characters, line breaks and tabs, no other control characters). WeCom's
 * `mentioned_list` / `mentioned_mobile_list` are accepted (lists of strings) and not acted on yet.
 */
export function parseBotPost(raw: string): BotPost {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new BotHookError("INVALID_PARAMETER", 'invalid json: the body must be a JSON object such as {"msgtype":"text","text":{"content":"hello"}}');
  }
  if (!isObject(body)) throw new BotHookError("INVALID_PARAMETER", "invalid json: the body must be a JSON object");
  const msgtype = body.msgtype;
  if (msgtype !== "text" && msgtype !== "markdown") {
    throw new BotHookError("INVALID_MESSAGE_TYPE", `invalid message type ${JSON.stringify(msgtype ?? null)}: give msgtype "text" or "markdown"`);
  }
  const part = body[msgtype];
  if (!isObject(part)) throw new BotHookError("INVALID_PARAMETER", `missing ${msgtype}: give {"${msgtype}":{"content":"…"}}`);
  for (const list of ["mentioned_list", "mentioned_mobile_list"]) {
    const v = part[list];
    if (v !== undefined && !(Array.isArray(v) && v.every((s) => typeof s === "string"))) {
      throw new BotHookError("INVALID_PARAMETER", `${msgtype}.${list} must be a list of strings`);
    }
  }
  const content = part.content;
  if (content === undefined || content === null || (typeof content === "string" && content.trim() === "")) {
    throw new BotHookError("EMPTY_CONTENT", `empty content: ${msgtype}.content must not be empty`);
  }
  if (typeof content !== "string") throw new BotHookError("INVALID_PARAMETER", `${msgtype}.content must be a string`);
  try {
    return { msgtype, content: freeText(content, `${msgtype}.content`, MESSAGE_TEXT_MAX) };
  } catch (e) {
    if (e instanceof DomainError) throw new BotHookError("INVALID_PARAMETER", e.message);
    throw e;
  }
}
