import { isUtf8 } from "node:buffer";
import express, { Router, type NextFunction, type Request, type Response } from "express";
import { RequestContext, type AppDeps } from "../context";
import { formatError } from "../errors/format";
import { BOT_BUCKET, BOT_ERRCODES, BOT_HOOK_BODY_LIMIT, BOT_POST_POINTS, BOT_POSTS_PER_MINUTE, BotHookError, parseBotPost } from "../domain/group-bots";

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
 * In order: the body is read (any content type, at most 64 KB, as WeCom accepts a bare `curl -d`)
 * and checked (40058, 40008, 44004); the key is looked up by its hash (93000: nothing is written);
 * a post is taken from the robot's bucket (20, then one every 3 s: `BOT_BUCKET`) in the rate limiter's
 * store, so in Redis shared by every instance (45009, HTTP 429 with `Retry-After`); then the
 * message is sent in one transaction. A post that fails after it was counted is given back.
 */
export function groupBotHookRoutes(deps: AppDeps): Router {
  const router = Router();
  // Bytes that are not UTF-8 are refused (decoding would store U+FFFD in their place), as on /graphql.
  const verify = (_req: Request, _res: Response, raw: Buffer) => {
    if (!isUtf8(raw)) throw new Error("invalid utf-8");
  };
  const body = express.text({ type: () => true, limit: BOT_HOOK_BODY_LIMIT, defaultCharset: "utf-8", verify });

  router.post("/hooks/bots/:key", body, async (req, res) => {
    try {
      const post = parseBotPost(typeof req.body === "string" ? req.body : "");
      const bot = await deps.services.groupBots.findByKey(deps, String(req.params.key));
      if (!bot) throw new BotHookError("INVALID_WEBHOOK", "invalid webhook url: no robot has this key (it may have been rotated or the robot removed)");
      // Read per request: one store for every instance (Redis), or this process's memory.
      const store = deps.rateLimiter.store;
      const bucketKey = `group-bot:${bot.corpPk}:${bot.botPk}`;
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
