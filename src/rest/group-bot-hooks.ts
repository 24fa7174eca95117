import { isUtf8 } from "node:buffer";
import express, { Router, type NextFunction, type Request, type Response } from "express";
import { RequestContext, type AppDeps } from "../context";
import { formatError } from "../errors/format";
import {
  BOT_BUCKET,
  BOT_ERRCODES,
  BOT_HOOK_BODY_LIMIT,
  BOT_KEY_FAILURES_PER_MINUTE,
  BOT_POST_POINTS,
  BOT_POSTS_PER_MINUTE,
  BotHookError,
  botBucketKey,
  parseBotPost,
} from "../domain/group-bots";
import { IpThrottle, clientKey } from "../ratelimit/ip-throttle";

/** Answers in WeCom's format: `{"errcode": …, "errmsg": …}`, with the HTTP status of the code (`BOT_ERRCODES`). */
function answer(res: Response, e: unknown): void {
  if (e instanceof BotHookError) {
    if (e.retryAfter !== undefined) res.setHeader("retry-after", String(e.retryAfter));
    res.status(e.status).json({ errcode: e.errcode, errmsg: e.message });
    return;
  }
  // Logged with the request id by the one formatter; the body says only that it failed.
  formatError(e, String(res.locals.requestId));
  res
    .status(BOT_ERRCODES.SYSTEM_BUSY.status)
    .json({ errcode: BOT_ERRCODES.SYSTEM_BUSY.errcode, errmsg: `system busy, retry later (request id ${res.locals.requestId})` });
}

/**
 * `POST /hooks/bots/:key` (issue 14, item 7): a group robot posts into its group with a body in
 * WeCom's group-robot format, answered like that API (`{"errcode":0,"errmsg":"ok"}`, or an errcode
 * of `BOT_ERRCODES` with a matching HTTP status). The key is the credential: no bearer token.
 * In order: an address that sent more than 30 unknown keys in the last minute is refused (429,
 * 45009) before anything is read: the count is shared through Redis, each instance remembers the
 * refusal until the window ends; the body is read (any content type, at most 64 KB, as WeCom accepts a bare `curl -d`)
 * and checked (40058, 40008, 44004); the key is looked up by its hash (93000: nothing is written);
 * a post is taken from the robot's bucket (20, then one every 3 s: `BOT_BUCKET`) in the rate limiter's
 * store, so in Redis shared by every instance (45009, HTTP 429 with `Retry-After`); then the
 * message is sent in one transaction. A post that fails after it was counted is given back.
 */
export function groupBotHookRoutes(deps: AppDeps): Router {
  const router = Router();
  const keyFailures = new IpThrottle("bot-hook-keys", BOT_KEY_FAILURES_PER_MINUTE, deps.redis);
  /** Addresses refused for unknown keys, until when (ms): refused again at once, without a lookup. */
  const blocked = new Map<string, number>();
  const blockedFor = (ip: string | undefined): number => {
    const until = blocked.get(clientKey(ip));
    if (until === undefined) return 0;
    if (until > Date.now()) return Math.ceil((until - Date.now()) / 1000);
    blocked.delete(clientKey(ip));
    return 0;
  };
  const tooManyGuesses = (seconds: number) =>
    new BotHookError("FREQUENCY_LIMIT", `too many requests with invalid webhook keys from this address; retry in ${seconds} s`, seconds);

  router.post("/hooks/bots/:key", (req, res, next) => {
    const wait = blockedFor(req.ip);
    if (wait > 0) return answer(res, tooManyGuesses(wait));
    next();
  });
  // Bytes that are not UTF-8 are refused (decoding would store U+FFFD in their place), as on /graphql.
  const verify = (_req: Request, _res: Response, raw: Buffer) => {
    if (!isUtf8(raw)) throw new Error("invalid utf-8");
  };
  const body = express.text({ type: () => true, limit: BOT_HOOK_BODY_LIMIT, defaultCharset: "utf-8", verify });

  router.post("/hooks/bots/:key", body, async (req, res) => {
    try {
      const post = parseBotPost(typeof req.body === "string" ? req.body : "");
      const bot = await deps.services.groupBots.findByKey(deps, String(req.params.key));
      if (!bot) {
        const verdict = await keyFailures.consume(req.ip);
        if (!verdict.allowed) {
          // Bounded: addresses past their window are dropped as they are met again, and all at once beyond 10,000.
          if (blocked.size >= 10_000) blocked.clear();
          blocked.set(clientKey(req.ip), Date.now() + verdict.retryAfterSeconds * 1000);
          throw tooManyGuesses(verdict.retryAfterSeconds);
        }
        throw new BotHookError("INVALID_WEBHOOK", "invalid webhook url: no robot has this key (it may have been rotated or the robot removed)");
      }
      // Read per request: one store for every instance (Redis), or this process's memory.
      const store = deps.rateLimiter.store;
      const bucketKey = botBucketKey(bot.corpPk, bot.botPk);
      const taken = await store.take(bucketKey, BOT_BUCKET, BOT_POST_POINTS);
      if (!taken.allowed) {
        const retryAfter = Math.max(1, Math.ceil(taken.retryAfterMs / 1000));
        throw new BotHookError(
          "FREQUENCY_LIMIT",
          `api freq out of limit: a robot posts at most ${BOT_POSTS_PER_MINUTE} messages a minute; retry in ${retryAfter} s`,
          retryAfter,
        );
      }
      const ctx = new RequestContext(deps, deps.services.groupBots.principalOf(bot), String(res.locals.requestId));
      ctx.clientIp = req.ip;
      try {
        await ctx.transaction(() => deps.services.groupBots.post(ctx, bot, post));
      } catch (e) {
        await store.refund(bucketKey, BOT_BUCKET, BOT_POST_POINTS, taken.origin).catch(() => undefined);
        throw e;
      }
      res.status(200).json({ errcode: 0, errmsg: "ok" });
    } catch (e) {
      answer(res, e);
    }
  });

  // A body over the limit, or one that cannot be decoded, answers in the same format.
  router.use("/hooks/bots", (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const e = err as { type?: string; limit?: number } | null;
    if (e?.type === "entity.too.large") {
      return void res.status(413).json({ errcode: BOT_ERRCODES.INVALID_PARAMETER.errcode, errmsg: `request body too large: at most ${e.limit} bytes` });
    }
    if (e?.type === "charset.unsupported" || e?.type === "encoding.unsupported" || e?.type === "entity.verify.failed") {
      return answer(res, new BotHookError("INVALID_PARAMETER", "the body must be utf-8 JSON"));
    }
    next(err);
  });
  return router;
}
