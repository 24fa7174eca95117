import type { RequestContext } from "../context";
import { STREAMS } from "../events/log";
import { Conversation } from "../entities/conversation.entity";
import { Member } from "../entities/member.entity";
import { hydrate, selectList } from "../db/scoped-db";
import DataLoader from "dataloader";
import { byWindow, keyset, paginate, toConnection, type Connection, type PageWindow } from "../db/paging";
import { SqlParams } from "../db/sql";
import { badInput, forbidden, limitExceeded, notFound } from "../errors/domain-error";
import { ConversationKind, ConversationRole, MemberStatus, MessageEventType } from "../domain/enums";
import { GROUP_NAME_MAX, MAX_GROUP_MEMBERS, MAX_MEMBERS_PER_CALL, lineText } from "../domain/messaging";
import {
  everyMemberVisibleSql,
  mayRead,
  mayReadSql,
  refuseNotTakingPart,
  requireGroupGovernor,
  requireGroupManager,
  requireMemberCaller,
  takesPart,
  type Membership,
} from "../policy/messaging";
import { memberVisibleSql } from "../policy/sql";
import { seesWholeCorp } from "../policy/principal";
import type { Clock } from "./clock";

/** The caller's membership of a conversation (a member caller that belongs to it). */
export interface ViewerMembership extends Membership {
  readSeq: string;
  pinned: boolean;
  muted: boolean;
  archived: boolean;
}

/** A conversation as the caller sees it: with their own membership (null for an app, or a member who left). */
export type ConversationView = Conversation & { viewer: ViewerMembership | null };

/** One membership row of a conversation's member list. */
export interface ConversationMemberRow {
  memberPk: string;
  role: ConversationRole;
  joinedAt: Date;
}

/** One page of one conversation's members (the member pages loader's key). */
interface MemberPageKey {
  conversationPk: string;
  window: PageWindow;
  /** Only members whose read pointer is below `seq`, leaving out `exceptMemberPk` (an unread-members page). */
  unreadBefore: { seq: string; exceptMemberPk: string | null } | null;
}

export interface ConversationFilter {
  kind?: ConversationKind | null;
  archived?: boolean | null;
}

export interface CreateGroupData {
  name: string;
  ownerPk?: string | null;
  memberPks: string[];
}

export interface UpdateGroupData {
  name?: string | null;
  ownerPk?: string | null;
  adminPks?: string[] | null;
}

/** The audience of a conversation's events (who may receive them: see `events/log.ts`). */
export const conversationAudience = (pk: string) => `conversation:${pk}`;
/** The audience of an event only one member may receive (their read pointer, their settings). */
export const memberAudience = (pk: string) => `member:${pk}`;
/** An event for one app itself (its own tokens), whatever conversations it takes part in. */
export const appAudience = (pk: string) => `app:${pk}`;

const VIEWER_COLUMNS = `cm.role AS "__role", cm.read_seq::text AS "__readSeq", cm.pinned AS "__pinned", cm.muted AS "__muted", cm.archived AS "__archived"`;

function toView(row: Record<string, unknown>): ConversationView {
  const { __role, __readSeq, __pinned, __muted, __archived, ...columns } = row;
  const view = hydrate(Conversation, columns) as ConversationView;
  view.viewer =
    __role == null ? null : { role: __role as ConversationRole, readSeq: __readSeq as string, pinned: !!__pinned, muted: !!__muted, archived: !!__archived };
  return view;
}

/**
 * Conversations (issue 14, source §2): groups of at most 10,000 members with an owner and admins,
 * direct conversations between two members (one per pair), each member's read pointer and settings.
 * Who may do what is `policy/messaging.ts`. Membership changes lock the conversation row, so the
 * member count and its limit hold under concurrent adds.
 */
export class ConversationService {
  constructor(public clock: Clock) {}

  /**
   * The conversation with the caller's membership, or undefined when it does not exist in the corp.
   * `lock`: FOR UPDATE of the conversation row (writers that change its count or sequence).
   */
  async load(ctx: RequestContext, pk: string, lock = false): Promise<ConversationView | undefined> {
    const memberPk = ctx.caller.member?.id ?? null;
    const row = await ctx.db.one(
      `SELECT ${selectList(ctx.deps.dataSource, Conversation, "c")}, ${VIEWER_COLUMNS}
         FROM conversation c
         LEFT JOIN conversation_member cm ON cm.corp_id = $1 AND cm.conversation_id = c.id AND cm.member_id = $3
        WHERE c.corp_id = $1 AND c.id = $2${lock ? " FOR UPDATE OF c" : ""}`,
      [pk, memberPk],
    );
    return row ? toView(row) : undefined;
  }

  /**
   * A conversation the caller may read, or undefined: one it takes part in, or (an app acting on its
   * own with `messages:read`) a group or direct conversation whose members are all within its
   * visibility. The one read check of a conversation (`policy/messaging.ts`, `mayRead`): its
   * messages, its members, its events.
   */
  async find(ctx: RequestContext, pk: string): Promise<ConversationView | undefined> {
    const view = await this.load(ctx, pk);
    return view && (await this.readable(ctx, view)) ? view : undefined;
  }

  /** A conversation the caller may read (see `find`), or NOT_FOUND naming `field`. */
  async getReadable(ctx: RequestContext, pk: string, field: string): Promise<ConversationView> {
    const view = await this.find(ctx, pk);
    if (!view) throw notFound("Conversation", field);
    return view;
  }

  /**
   * A conversation the caller takes part in (locked with `lock`), for a change in it: NOT_FOUND
   * naming `field` when the caller may not read it either, FORBIDDEN when it only reads it.
   */
  async get(ctx: RequestContext, pk: string, field: string, lock = false): Promise<ConversationView> {
    const view = await this.load(ctx, pk, lock);
    if (!view) throw notFound("Conversation", field);
    if (takesPart(ctx.caller, view, view.viewer) && (await this.appReaches(ctx, view))) return view;
    return refuseNotTakingPart(await this.readable(ctx, view), field);
  }

  /** `mayRead`, and an app's APP conversation only while its member is within its visibility (`appReaches`). */
  private async readable(ctx: RequestContext, view: ConversationView): Promise<boolean> {
    return (await mayRead(ctx.caller, view, view.viewer, () => this.everyMemberVisible(ctx, view.pk))) && (await this.appReaches(ctx, view));
  }

  /** Is every member of the conversation within the caller's visibility? One statement that stops at the first one outside. */
  private async everyMemberVisible(ctx: RequestContext, pk: string): Promise<boolean> {
    const params = new SqlParams();
    const id = params.add(pk);
    const row = await ctx.db.one<{ ok: boolean }>(
      `SELECT ${everyMemberVisibleSql(ctx.caller, params, "c")} AS ok FROM conversation c WHERE c.corp_id = $1 AND c.id = ${id}`,
      params.values,
    );
    return row?.ok === true;
  }

  /**
   * An app takes part in its APP conversation only while the member is within its visibility (issue
   * 14: "its APP conversations with members in its visibility"): it neither reads nor sends into the
   * conversation of a member who left it. Other kinds, and member callers, are not concerned.
   */
  private async appReaches(ctx: RequestContext, view: Conversation): Promise<boolean> {
    if (ctx.caller.member || view.kind !== ConversationKind.APP || seesWholeCorp(ctx.caller)) return true;
    const recipient = view.directKey!.slice(view.directKey!.lastIndexOf(":") + 1);
    return (await ctx.loaders.member.load(recipient)) !== undefined;
  }

  /**
   * The caller's conversations: pinned first (members), then by last activity (newest first), with
   * their membership. A member's list is their membership rows (`conversation_member_corp_member_idx`)
   * joined to the conversations and sorted there; an app's is the conversations it may read
   * (`mayReadSql`): those it created (`conversation_corp_app_activity_idx`) and, with
   * `messages:read`, the groups and direct conversations whose members are all within its visibility.
   */
  list(ctx: RequestContext, filter: ConversationFilter, window: PageWindow): Promise<Connection<ConversationView>> {
    const params = new SqlParams();
    const principal = ctx.caller;
    const where = ["c.corp_id = $1"];
    let from: string;
    let viewer: string;
    let pinnedKey: string;
    if (principal.member) {
      from = "conversation_member cm JOIN conversation c ON c.id = cm.conversation_id";
      where.push(`cm.corp_id = $1 AND cm.member_id = ${params.add(principal.member.id)}`);
      if (filter.archived != null) where.push(`cm.archived = ${params.add(filter.archived)}`);
      viewer = VIEWER_COLUMNS;
      pinnedKey = "(NOT cm.pinned)::int";
    } else {
      from = "conversation c";
      where.push(mayReadSql(principal, params, "c"));
      if (!seesWholeCorp(principal)) {
        // Its APP conversations only with members within its visibility (see `appReaches`), found once
        // as a set (its own APP conversations, `conversation_corp_app_activity_idx`): tested per row, the
        // estimate of a list that reads every group of the corp made PostgreSQL compile it with JIT (0.6 s).
        where.push(`(c.kind <> 'APP' OR c.id IN (SELECT ca.id FROM conversation ca JOIN conversation_member cm_a ON cm_a.conversation_id = ca.id
                      JOIN member m_a ON m_a.id = cm_a.member_id
                      WHERE ca.corp_id = $1 AND ca.created_by_app_id = ${params.add(principal.appId)} AND ca.kind = 'APP' AND cm_a.corp_id = $1
                        AND ${memberVisibleSql(principal, params, "m_a")}))`);
      }
      // An app has no settings: nothing of its conversations is archived.
      if (filter.archived === true) where.push("FALSE");
      viewer = `NULL AS "__role"`;
      pinnedKey = "0::int";
    }
    if (filter.kind) where.push(`c.kind = ${params.add(filter.kind)}`);
    const activityKey = "(-(extract(epoch FROM c.last_activity_at) * 1000000))::bigint";
    return paginate(ctx.db, window, {
      select: `${selectList(ctx.deps.dataSource, Conversation, "c")}, ${viewer}, ${pinnedKey} AS "__k1", ${activityKey}::text AS "__k2"`,
      from,
      where: where.join(" AND "),
      params,
      key: [
        { sql: pinnedKey, cast: "int" },
        { sql: activityKey, cast: "bigint" },
        { sql: "(-c.id)", cast: "bigint" },
      ],
      keyOf: (v) => {
        const keys = v as unknown as { __k1: number; __k2: string };
        return [String(keys.__k1), keys.__k2, `-${v.pk}`];
      },
      map: (row) => {
        const { __k1, __k2, ...rest } = row as Record<string, unknown>;
        const view = toView(rest);
        Object.defineProperty(view, "__k1", { value: __k1, enumerable: false });
        Object.defineProperty(view, "__k2", { value: __k2, enumerable: false });
        return view;
      },
    });
  }

  /**
   * A page of the members of a conversation the caller takes part in, by member id. Pages asked for
   * several conversations of one request (a list of conversations with their members) come from
   * one statement; `totalCount` is the conversation's member count.
   */
  async members(ctx: RequestContext, conversation: Conversation, window: PageWindow): Promise<Connection<ConversationMemberRow>> {
    const rows = await this.memberPage(ctx, { conversationPk: conversation.pk, window, unreadBefore: null });
    return toConnection(
      rows,
      window,
      (m) => [m.memberPk],
      () => Promise.resolve(conversation.memberCount),
    );
  }

  /**
   * A page of the members of a conversation who have not read up to `seq` (their read pointer is
   * below it), leaving out `exceptMemberPk` (the message's sender); batched like `members`.
   */
  async unreadMembers(
    ctx: RequestContext,
    conversationPk: string,
    unreadBefore: { seq: string; exceptMemberPk: string | null },
    window: PageWindow,
    totalCount: () => Promise<number>,
  ): Promise<Connection<ConversationMemberRow>> {
    const rows = await this.memberPage(ctx, { conversationPk, window, unreadBefore });
    return toConnection(rows, window, (m) => [m.memberPk], totalCount);
  }

  private memberPage(ctx: RequestContext, key: MemberPageKey): Promise<ConversationMemberRow[]> {
    let loader = this.memberPages.get(ctx.loaders);
    if (!loader) {
      loader = new DataLoader((keys) => this.loadMemberPages(ctx, keys), { cacheKeyFn: (k) => JSON.stringify([k.conversationPk, k.window, k.unreadBefore]) });
      this.memberPages.set(ctx.loaders, loader);
    }
    return loader.load(key);
  }

  /** Per request (keyed by `ctx.loaders`, which a transaction or a subscription's event renews): the member pages loader. */
  private readonly memberPages = new WeakMap<object, DataLoader<MemberPageKey, ConversationMemberRow[], string>>();

  /** One LATERAL statement per distinct window for all the pages asked (`conversation_member_read_idx` serves the unread ones). */
  private async loadMemberPages(ctx: RequestContext, keys: readonly MemberPageKey[]): Promise<ConversationMemberRow[][]> {
    const pages: ConversationMemberRow[][] = keys.map(() => []);
    await Promise.all(
      byWindow(keys).map(async ({ window, slots }) => {
        const params = new SqlParams();
        const list = (values: Array<string | null>) => params.add(values);
        const source = `unnest(${list(slots.map((i) => keys[i].conversationPk))}::bigint[], ${list(slots.map((i) => keys[i].unreadBefore?.seq ?? null))}::bigint[],
                               ${list(slots.map((i) => keys[i].unreadBefore?.exceptMemberPk ?? null))}::bigint[], ${list(slots.map(String))}::int[])
                          AS c(pk, below_seq, except_pk, slot)`;
        const page = keyset(window, ["cm.member_id"], params, ["bigint"]);
        const rows = await ctx.db.rows<ConversationMemberRow & { __slot: number }>(
          `SELECT c.slot AS "__slot", p.* FROM ${source} CROSS JOIN LATERAL (
             SELECT cm.member_id::text AS "memberPk", cm.role, cm.joined_at AS "joinedAt" FROM conversation_member cm
              WHERE cm.corp_id = $1 AND cm.conversation_id = c.pk AND ${page.where}
                AND (c.below_seq IS NULL OR (cm.read_seq < c.below_seq AND cm.member_id IS DISTINCT FROM c.except_pk))
              ORDER BY ${page.orderBy} LIMIT ${page.limit}) p`,
          params.values,
        );
        for (const { __slot, ...row } of rows) pages[__slot].push(row);
      }),
    );
    return pages;
  }

  /** Members by id that the caller may see (the directory's visibility), in order; NOT_FOUND on `field` for any other. */
  private async visibleMembers(ctx: RequestContext, pks: readonly string[], field: string, joining = false): Promise<Member[]> {
    const found = (await ctx.loaders.member.loadMany(pks)).filter((m): m is Member => m instanceof Member);
    if (found.length !== pks.length) throw notFound("Member", field);
    if (joining && found.some((m) => m.status === MemberStatus.RESIGNED))
      throw badInput(field, `${field} names a member who resigned: they cannot join a conversation.`);
    return found;
  }

  async createGroup(ctx: RequestContext, data: CreateGroupData): Promise<ConversationView> {
    const principal = ctx.caller;
    const name = lineText(data.name, "input.name", GROUP_NAME_MAX);
    let ownerPk: string;
    if (principal.member) {
      if (data.ownerPk != null && data.ownerPk !== principal.member.id) throw badInput("input.ownerId", "A member creates groups they own: leave ownerId out.");
      ownerPk = principal.member.id;
    } else {
      if (data.ownerPk == null) throw badInput("input.ownerId", "An app creating a group names its owner (ownerId).");
      ownerPk = data.ownerPk;
    }
    if (data.memberPks.length > MAX_MEMBERS_PER_CALL) {
      throw badInput("input.memberIds", `Name at most ${MAX_MEMBERS_PER_CALL} members per call; add more with addGroupMembers.`);
    }
    const others = [...new Set(data.memberPks)].filter((pk) => pk !== ownerPk);
    await this.visibleMembers(ctx, [ownerPk], "input.ownerId", true);
    await this.visibleMembers(ctx, others, "input.memberIds", true);
    const now = this.clock.now();
    const [row] = await ctx.db.rows(
      `INSERT INTO conversation AS c (corp_id, kind, name, owner_id, created_by_app_id, member_count, last_activity_at, created_at, updated_at)
       VALUES ($1, 'GROUP', $2, $3, $4, $5, $6, $6, $6)
       RETURNING ${selectList(ctx.deps.dataSource, Conversation, "c")}`,
      [name, ownerPk, principal.member ? null : principal.appId, others.length + 1, now],
    );
    const conversation = hydrate(Conversation, row);
    await ctx.db.exec(
      `INSERT INTO conversation_member (corp_id, conversation_id, member_id, role, read_seq, joined_at)
       SELECT $1, $2, m, CASE WHEN m = $3 THEN 'OWNER' ELSE 'MEMBER' END, 0, $5 FROM unnest($4::bigint[]) AS m`,
      [conversation.pk, ownerPk, [ownerPk, ...others], now],
    );
    ctx.emit(STREAMS.messages, {
      type: MessageEventType.CONVERSATION_CREATED,
      subjectType: "Conversation",
      subjectId: conversation.pk,
      audience: [conversationAudience(conversation.pk)],
      data: { kind: ConversationKind.GROUP, name, memberCount: others.length + 1, memberIds: [ownerPk, ...others] },
    });
    return this.get(ctx, conversation.pk, "input");
  }

  /** A group the caller takes part in, locked, with its membership; BAD_USER_INPUT when it is not a group. */
  private async lockedGroup(ctx: RequestContext, pk: string): Promise<ConversationView> {
    const group = await this.get(ctx, pk, "input.id", true);
    if (group.kind !== ConversationKind.GROUP) throw badInput("input.id", "This conversation is not a group.");
    return group;
  }

  async updateGroup(ctx: RequestContext, pk: string, data: UpdateGroupData): Promise<ConversationView> {
    const group = await this.lockedGroup(ctx, pk);
    requireGroupManager(ctx.caller, group, group.viewer);
    const name = data.name == null ? null : lineText(data.name, "input.name", GROUP_NAME_MAX);
    const changed: string[] = [];
    if (data.ownerPk != null || data.adminPks != null) requireGroupGovernor(ctx.caller, group, group.viewer);
    if (data.ownerPk != null && data.ownerPk !== group.ownerId) {
      const updated = await ctx.db.exec(
        `UPDATE conversation_member SET role = CASE WHEN member_id = $3 THEN 'OWNER' ELSE 'ADMIN' END
          WHERE corp_id = $1 AND conversation_id = $2 AND (member_id = $3 OR role = 'OWNER')`,
        [group.pk, data.ownerPk],
      );
      const isMember = await ctx.db.one(`SELECT 1 FROM conversation_member WHERE corp_id = $1 AND conversation_id = $2 AND member_id = $3`, [
        group.pk,
        data.ownerPk,
      ]);
      if (!isMember || updated === 0) throw badInput("input.ownerId", "The new owner must be a member of the group.");
      await ctx.db.exec(`UPDATE conversation SET owner_id = $3 WHERE corp_id = $1 AND id = $2`, [group.pk, data.ownerPk]);
      changed.push("owner");
    }
    if (data.adminPks != null) {
      const admins = [...new Set(data.adminPks)];
      const found = await ctx.db.rows<{ member_id: string; role: string }>(
        `SELECT member_id::text, role FROM conversation_member WHERE corp_id = $1 AND conversation_id = $2 AND member_id = ANY($3::bigint[])`,
        [group.pk, admins],
      );
      if (found.length !== admins.length) throw badInput("input.adminIds", "Every admin must be a member of the group.");
      if (found.some((r) => r.role === ConversationRole.OWNER)) throw badInput("input.adminIds", "The owner is not also an admin.");
      await ctx.db.exec(
        `UPDATE conversation_member SET role = CASE WHEN member_id = ANY($3::bigint[]) THEN 'ADMIN' ELSE 'MEMBER' END
          WHERE corp_id = $1 AND conversation_id = $2 AND role <> 'OWNER'`,
        [group.pk, admins],
      );
      changed.push("admins");
    }
    if (name !== null && name !== group.name) changed.push("name");
    if (changed.length) {
      await ctx.db.exec(`UPDATE conversation SET name = COALESCE($3, name), updated_at = $4 WHERE corp_id = $1 AND id = $2`, [
        group.pk,
        name,
        this.clock.now(),
      ]);
      ctx.emit(STREAMS.messages, {
        type: MessageEventType.CONVERSATION_UPDATED,
        subjectType: "Conversation",
        subjectId: group.pk,
        audience: [conversationAudience(group.pk)],
        data: { changedFields: changed },
      });
    }
    return this.get(ctx, group.pk, "input.id");
  }

  /**
   * Adds members (each visible to the caller) to a group; those already in it are left as they are.
   * Past 10,000 members: LIMIT_EXCEEDED, nothing added. New members start with everything read.
   */
  async addMembers(ctx: RequestContext, pk: string, memberPks: string[]): Promise<{ conversation: ConversationView; added: number }> {
    if (memberPks.length > MAX_MEMBERS_PER_CALL) throw badInput("input.memberIds", `Name at most ${MAX_MEMBERS_PER_CALL} members per call.`);
    const group = await this.lockedGroup(ctx, pk);
    requireGroupManager(ctx.caller, group, group.viewer);
    const pks = [...new Set(memberPks)];
    await this.visibleMembers(ctx, pks, "input.memberIds", true);
    const existing = await ctx.db.rows<{ member_id: string }>(
      `SELECT member_id::text FROM conversation_member WHERE corp_id = $1 AND conversation_id = $2 AND member_id = ANY($3::bigint[])`,
      [group.pk, pks],
    );
    const already = new Set(existing.map((r) => r.member_id));
    const fresh = pks.filter((p) => !already.has(p));
    if (group.memberCount + fresh.length > MAX_GROUP_MEMBERS) {
      throw limitExceeded(
        `A group has at most ${MAX_GROUP_MEMBERS.toLocaleString("en-US")} members; it has ${group.memberCount.toLocaleString("en-US")} and this adds ${fresh.length.toLocaleString("en-US")}.`,
        { field: "input.memberIds" },
      );
    }
    if (fresh.length) {
      const now = this.clock.now();
      await ctx.db.exec(
        `INSERT INTO conversation_member (corp_id, conversation_id, member_id, role, read_seq, joined_at)
         SELECT $1, $2, m, 'MEMBER', $4, $5 FROM unnest($3::bigint[]) AS m`,
        [group.pk, fresh, group.lastSeq, now],
      );
      await ctx.db.exec(`UPDATE conversation SET member_count = member_count + $3, updated_at = $4 WHERE corp_id = $1 AND id = $2`, [
        group.pk,
        fresh.length,
        now,
      ]);
      this.emitMembership(ctx, group.pk, { added: fresh });
    }
    return { conversation: await this.get(ctx, group.pk, "input.id"), added: fresh.length };
  }

  /** Removes members from a group (those not in it are ignored): not its owner; admins only by the owner or the creating app. */
  async removeMembers(ctx: RequestContext, pk: string, memberPks: string[]): Promise<{ conversation: ConversationView; removed: number }> {
    if (memberPks.length > MAX_MEMBERS_PER_CALL) throw badInput("input.memberIds", `Name at most ${MAX_MEMBERS_PER_CALL} members per call.`);
    const group = await this.lockedGroup(ctx, pk);
    requireGroupManager(ctx.caller, group, group.viewer);
    const pks = [...new Set(memberPks)];
    await this.visibleMembers(ctx, pks, "input.memberIds");
    const rows = await ctx.db.rows<{ member_id: string; role: ConversationRole }>(
      `SELECT member_id::text, role FROM conversation_member WHERE corp_id = $1 AND conversation_id = $2 AND member_id = ANY($3::bigint[])`,
      [group.pk, pks],
    );
    if (rows.some((r) => r.role === ConversationRole.OWNER)) {
      throw badInput("input.memberIds", "The owner cannot be removed: make another member the owner first (updateGroup ownerId).");
    }
    if (rows.some((r) => r.role === ConversationRole.ADMIN) && group.viewer?.role === ConversationRole.ADMIN) {
      throw forbidden("Only the group's owner (or the app that created it) may remove an admin.");
    }
    const gone = rows.map((r) => r.member_id);
    if (gone.length) await this.dropMembers(ctx, group.pk, gone);
    return { conversation: await this.get(ctx, group.pk, "input.id"), removed: gone.length };
  }

  /** The caller (a member) leaves a group; its owner must hand the group over first. */
  async leave(ctx: RequestContext, pk: string): Promise<Conversation> {
    const memberPk = requireMemberCaller(ctx.caller, "leave a group");
    const group = await this.lockedGroup(ctx, pk);
    if (group.viewer?.role === ConversationRole.OWNER) {
      throw badInput("input.id", "The owner cannot leave: make another member the owner first (updateGroup ownerId).");
    }
    await this.dropMembers(ctx, group.pk, [memberPk]);
    return group;
  }

  private async dropMembers(ctx: RequestContext, conversationPk: string, memberPks: string[]): Promise<void> {
    const removed = await ctx.db.exec(`DELETE FROM conversation_member WHERE corp_id = $1 AND conversation_id = $2 AND member_id = ANY($3::bigint[])`, [
      conversationPk,
      memberPks,
    ]);
    await ctx.db.exec(`UPDATE conversation SET member_count = member_count - $3, updated_at = $4 WHERE corp_id = $1 AND id = $2`, [
      conversationPk,
      removed,
      this.clock.now(),
    ]);
    this.emitMembership(ctx, conversationPk, { removed: memberPks });
  }

  private emitMembership(ctx: RequestContext, conversationPk: string, change: { added?: string[]; removed?: string[] }): void {
    // Those removed are told too (they are no longer in the conversation's audience).
    ctx.emit(STREAMS.messages, {
      type: MessageEventType.MEMBERSHIP_CHANGED,
      subjectType: "Conversation",
      subjectId: conversationPk,
      audience: [conversationAudience(conversationPk), ...(change.removed ?? []).map(memberAudience)],
      data: { added: change.added ?? [], removed: change.removed ?? [] },
    });
  }

  /**
   * The direct conversation between the caller (a member) and `otherPk` (a member they may see),
   * created on first use; one per pair, also when both open it at once (the unique `direct_key`).
   */
  async openDirect(ctx: RequestContext, otherPk: string): Promise<ConversationView> {
    const memberPk = requireMemberCaller(ctx.caller, "open a direct conversation");
    if (otherPk === memberPk) throw badInput("input.memberId", "A direct conversation is between two different members.");
    await this.visibleMembers(ctx, [otherPk], "input.memberId", true);
    const [low, high] = BigInt(memberPk) < BigInt(otherPk) ? [memberPk, otherPk] : [otherPk, memberPk];
    const now = this.clock.now();
    const created = await ctx.db.one<{ id: string }>(
      `INSERT INTO conversation (corp_id, kind, direct_key, member_count, last_activity_at, created_at, updated_at)
       VALUES ($1, 'DIRECT', $2, 2, $3, $3, $3)
       ON CONFLICT (corp_id, direct_key) WHERE direct_key IS NOT NULL DO NOTHING RETURNING id::text`,
      [`${low}:${high}`, now],
    );
    if (created) {
      await ctx.db.exec(
        `INSERT INTO conversation_member (corp_id, conversation_id, member_id, role, read_seq, joined_at)
         SELECT $1, $2, m, 'MEMBER', 0, $4 FROM unnest($3::bigint[]) AS m`,
        [created.id, [low, high], now],
      );
      ctx.emit(STREAMS.messages, {
        type: MessageEventType.CONVERSATION_CREATED,
        subjectType: "Conversation",
        subjectId: created.id,
        audience: [conversationAudience(created.id)],
        data: { kind: ConversationKind.DIRECT, memberCount: 2, memberIds: [low, high] },
      });
      return this.get(ctx, created.id, "input.memberId");
    }
    const existing = await ctx.db.one<{ id: string }>(`SELECT id::text FROM conversation WHERE corp_id = $1 AND direct_key = $2`, [`${low}:${high}`]);
    return this.get(ctx, existing!.id, "input.memberId");
  }

  /** Moves the caller's read pointer forward to `upToSeq` (never back); the caller must be a member of the conversation. */
  async markRead(ctx: RequestContext, pk: string, upToSeq: number): Promise<ConversationView> {
    const memberPk = requireMemberCaller(ctx.caller, "mark messages read");
    const conversation = await this.get(ctx, pk, "input.conversationId");
    if (!Number.isInteger(upToSeq) || upToSeq < 0) throw badInput("input.upToSeq", "input.upToSeq must be a sequence number (0 or more).");
    if (BigInt(upToSeq) > BigInt(conversation.lastSeq)) {
      throw badInput("input.upToSeq", `input.upToSeq is beyond the newest message (seq ${conversation.lastSeq}).`);
    }
    const before = await ctx.db.one<{ read_seq: string }>(
      `SELECT read_seq::text FROM conversation_member WHERE corp_id = $1 AND conversation_id = $2 AND member_id = $3 FOR UPDATE`,
      [conversation.pk, memberPk],
    );
    const moved = await ctx.db.exec(
      `UPDATE conversation_member SET read_seq = $4 WHERE corp_id = $1 AND conversation_id = $2 AND member_id = $3 AND read_seq < $4`,
      [conversation.pk, memberPk, upToSeq],
    );
    if (moved) {
      // The reader and the senders of what was just read (their read receipts change), not the whole
      // conversation: in a 10,000-member group every other member would get every read pointer.
      const senders = await ctx.db.rows<{ member: string | null; app: string | null }>(
        `SELECT DISTINCT sender_member_id::text AS member, sender_app_id::text AS app FROM message
          WHERE corp_id = $1 AND conversation_id = $2 AND seq > $3 AND seq <= $4`,
        [conversation.pk, before?.read_seq ?? "0", upToSeq],
      );
      const audience = new Set([memberAudience(memberPk)]);
      for (const sender of senders) {
        if (sender.member) audience.add(memberAudience(sender.member));
        else if (sender.app) audience.add(appAudience(sender.app));
      }
      ctx.emit(STREAMS.messages, {
        type: MessageEventType.MESSAGE_READ,
        subjectType: "Conversation",
        subjectId: conversation.pk,
        audience: [...audience],
        data: { memberId: memberPk, upToSeq },
      });
    }
    return this.get(ctx, conversation.pk, "input.conversationId");
  }

  /** The caller's own settings of a conversation; omitted ones stay. */
  async setSettings(
    ctx: RequestContext,
    pk: string,
    settings: { pinned?: boolean | null; muted?: boolean | null; archived?: boolean | null },
  ): Promise<ConversationView> {
    const memberPk = requireMemberCaller(ctx.caller, "change conversation settings");
    const conversation = await this.get(ctx, pk, "input.conversationId");
    const changed = await ctx.db.exec(
      `UPDATE conversation_member SET pinned = COALESCE($4, pinned), muted = COALESCE($5, muted), archived = COALESCE($6, archived)
        WHERE corp_id = $1 AND conversation_id = $2 AND member_id = $3
          AND (pinned, muted, archived) IS DISTINCT FROM (COALESCE($4, pinned), COALESCE($5, muted), COALESCE($6, archived))`,
      [conversation.pk, memberPk, settings.pinned ?? null, settings.muted ?? null, settings.archived ?? null],
    );
    if (changed) {
      ctx.emit(STREAMS.messages, {
        type: MessageEventType.SETTINGS_CHANGED,
        subjectType: "Conversation",
        subjectId: conversation.pk,
        audience: [memberAudience(memberPk)],
        data: { pinned: settings.pinned ?? null, muted: settings.muted ?? null, archived: settings.archived ?? null },
      });
    }
    return this.get(ctx, conversation.pk, "input.conversationId");
  }
}
