import type { RequestContext } from "../context";
import { STREAMS } from "../events/log";
import { canSee, requireTreeWrite, seesWholeCorp, visibleSql } from "../policy";
import { Department, MAX_DEPARTMENT_DEPTH } from "../entities/department.entity";
import { hydrate, selectList, type CorpDb } from "../db/scoped-db";
import type { MemberPageKey } from "./loaders";
import type { Member } from "../entities/member.entity";
import { badInput, conflict, forbidden, limitExceeded, notFound } from "../errors/domain-error";
import { paginate, type Connection, type PageWindow } from "../db/paging";
import { SqlParams } from "../db/sql";
import { DirectoryEventType } from "../domain/enums";

/** Serialises changes to a corp's department tree (held until the transaction ends); the batch import takes it too. */
export async function lockDepartmentTree(db: CorpDb): Promise<void> {
  await db.exec(`SELECT pg_advisory_xact_lock(hashtextextended('department-tree:' || $1::text, 0))`);
}

export interface CreateDepartmentData {
  name: string;
  parentPk?: string | null;
  order?: number | null;
}

export interface UpdateDepartmentData {
  name?: string | null;
  parentPk?: string | null;
  order?: number | null;
  leaderPks?: string[] | null;
}

/**
 * The department tree (source §1): one root per corp named after it, at most 15 levels below it,
 * sibling names unique. Tree changes take a per-corp advisory lock so that concurrent moves cannot
 * create a cycle or exceed the depth between the check and the write.
 */
export class DepartmentService {
  /**
   * A department the caller may see, or undefined. `withMembers`: the query will read this page of
   * its members, fetched in the same statement.
   */
  find(ctx: RequestContext, pk: string, withMembers?: Omit<MemberPageKey, "departmentPk">): Promise<Department | undefined> {
    return withMembers ? ctx.loaders.departmentWithMembers(pk, withMembers) : ctx.loaders.department.load(pk);
  }

  /** A department the caller may see, or NOT_FOUND naming `field`. */
  async get(ctx: RequestContext, pk: string, field = "id"): Promise<Department> {
    const department = await this.find(ctx, pk);
    if (!department) throw notFound("Department", field);
    return department;
  }

  /** Several departments by id, in order; invisible or missing ones are dropped. */
  async findMany(ctx: RequestContext, pks: readonly string[]): Promise<Department[]> {
    const found = await ctx.loaders.department.loadMany(pks);
    return found.filter((d): d is Department => d instanceof Department);
  }

  /** The corp's root department (visible or not: used to place new departments). */
  async root(ctx: RequestContext): Promise<Department> {
    const [root] = await ctx.db.entities(
      Department,
      `SELECT ${selectList(ctx.deps.dataSource, Department, "d")} FROM department d WHERE d.corp_id = $1 AND d.parent_id IS NULL`,
    );
    return root;
  }

  /**
   * Sub-departments of `parentPk`; without a parent, the tops of what the caller sees (the root
   * for a whole-corp caller, else the departments of its visibility scope). Ordered by `order`.
   */
  async list(ctx: RequestContext, parentPk: string | null, window: PageWindow): Promise<Connection<Department>> {
    const params = new SqlParams();
    let where: string;
    if (parentPk !== null) {
      await this.get(ctx, parentPk, "parentId");
      where = `d.parent_id = ${params.add(parentPk)}`;
    } else if (seesWholeCorp(ctx.caller)) {
      where = "d.parent_id IS NULL";
    } else {
      const visibleRoots = ctx.caller.visibleRoots!;
      const roots = visibleRoots.filter((r) => !visibleRoots.some((o) => o !== r && r.startsWith(o)));
      where = `d.path = ANY(${params.add(roots)}::text[])`;
    }
    const filter = `d.corp_id = $1 AND ${where} AND ${visibleSql(ctx.caller, params, "d.path")}`;
    return paginate(ctx.db, window, {
      select: selectList(ctx.deps.dataSource, Department, "d"),
      from: "department d",
      where: filter,
      params,
      key: [
        { sql: `d."order"`, cast: "int" },
        { sql: "d.id", cast: "bigint" },
      ],
      keyOf: (d) => [String(d.order), d.pk],
      map: (row) => hydrate(Department, row),
    });
  }

  /** Sub-departments the caller may see. */
  children(ctx: RequestContext, department: Department): Promise<Department[]> {
    return ctx.loaders.children.load(department.pk);
  }

  /** The department's leaders the caller may see (部门负责人). */
  leaders(ctx: RequestContext, department: Department): Promise<Member[]> {
    return ctx.loaders.leaders.load(department.pk);
  }

  /** Ancestors from the root down, limited to what the caller may see. */
  ancestors(ctx: RequestContext, department: Department): Promise<Department[]> {
    return this.findMany(ctx, department.ancestorPks());
  }

  async parent(ctx: RequestContext, department: Department): Promise<Department | undefined> {
    return department.parentId ? this.find(ctx, department.parentId) : undefined;
  }

  async create(ctx: RequestContext, data: CreateDepartmentData): Promise<Department> {
    requireTreeWrite(ctx.caller);
    await this.lockTree(ctx);
    const parent = data.parentPk ? await this.get(ctx, data.parentPk, "input.parentId") : await this.root(ctx);
    if (!canSee(ctx.caller, parent.path)) {
      throw forbidden("Your visibility scope does not include the root department: give `parentId`.");
    }
    if (parent.depth + 1 > MAX_DEPARTMENT_DEPTH) {
      throw limitExceeded(`Departments nest at most ${MAX_DEPARTMENT_DEPTH} levels below the root.`, { field: "input.parentId" });
    }
    const [created] = await ctx.db.entities(
      Department,
      `WITH next AS (SELECT nextval(pg_get_serial_sequence('department', 'id')) AS id)
       INSERT INTO department AS d (id, corp_id, parent_id, name, "order", depth, path)
       SELECT next.id, $1, $2, $3, $4, $5, $6 || next.id || '/' FROM next
       RETURNING ${selectList(ctx.deps.dataSource, Department, "d")}`,
      [parent.pk, data.name, data.order ?? 0, parent.depth + 1, parent.path],
    );
    ctx.emit(STREAMS.directory, { type: DirectoryEventType.DEPARTMENT_CREATED, subjectType: "Department", subjectId: created.pk, audience: [created.path] });
    return created;
  }

  async update(ctx: RequestContext, pk: string, data: UpdateDepartmentData): Promise<Department> {
    requireTreeWrite(ctx.caller);
    await this.lockTree(ctx);
    const department = await this.get(ctx, pk, "input.id");
    const changed: string[] = [];
    const cols = selectList(ctx.deps.dataSource, Department, "d");

    if (data.parentPk != null && data.parentPk !== department.parentId) {
      if (department.parentId === null) throw badInput("input.parentId", "The root department cannot be moved.");
      const parent = await this.get(ctx, data.parentPk, "input.parentId");
      if (parent.path.startsWith(department.path)) {
        throw badInput("input.parentId", "A department cannot move under itself or one of its sub-departments.");
      }
      const below = await ctx.db.one<{ deepest: number }>(`SELECT max(depth) AS deepest FROM department WHERE corp_id = $1 AND path LIKE $2 || '%'`, [
        department.path,
      ]);
      const shift = parent.depth + 1 - department.depth;
      if ((below?.deepest ?? department.depth) + shift > MAX_DEPARTMENT_DEPTH) {
        throw limitExceeded(`The move would nest departments more than ${MAX_DEPARTMENT_DEPTH} levels below the root.`, { field: "input.parentId" });
      }
      const newPath = `${parent.path}${department.pk}/`;
      await ctx.db.exec(
        `UPDATE department SET path = $2 || substr(path, length($3) + 1), depth = depth + $4, updated_at = now()
          WHERE corp_id = $1 AND path LIKE $3 || '%'`,
        [newPath, department.path, shift],
      );
      // The new name (if any) goes with the move: the sibling-name index checks the final pair.
      await ctx.db.exec(`UPDATE department SET parent_id = $2, name = COALESCE($4, name) WHERE corp_id = $1 AND id = $3`, [
        parent.pk,
        department.pk,
        data.name ?? null,
      ]);
      changed.push("parent");
      // Apps' visibility roots are cached as paths: forget them so the next request sees the move.
      ctx.deps.tokens.invalidate();
    }
    if (data.name != null && data.name !== department.name) {
      if (department.parentId === null) {
        throw badInput("input.name", "The root department is named after the corp and cannot be renamed here.");
      }
      changed.push("name");
    }
    if (data.order != null && data.order !== department.order) changed.push("order");
    const [current] = await ctx.db.entities(
      Department,
      `UPDATE department AS d SET name = COALESCE($3, d.name), "order" = COALESCE($4, d."order"), updated_at = now()
        WHERE d.corp_id = $1 AND d.id = $2 RETURNING ${cols}`,
      [department.pk, data.name ?? null, data.order ?? null],
    );
    if (data.leaderPks != null) {
      const leaders = [...new Set(data.leaderPks)];
      const members = await ctx.db.rows<{ member_id: string }>(
        `SELECT member_id FROM member_department WHERE corp_id = $1 AND department_id = $2 AND member_id = ANY($3::bigint[])`,
        [department.pk, leaders],
      );
      if (members.length !== leaders.length) {
        throw badInput("input.leaderIds", "Every leader must be a member of the department.");
      }
      const removed = await ctx.db.exec(`DELETE FROM department_leader WHERE corp_id = $1 AND department_id = $2 AND NOT (member_id = ANY($3::bigint[]))`, [
        department.pk,
        leaders,
      ]);
      const added = await ctx.db.exec(
        `INSERT INTO department_leader (corp_id, department_id, member_id) SELECT $1, $2, unnest($3::bigint[]) ON CONFLICT DO NOTHING`,
        [department.pk, leaders],
      );
      if (removed + added > 0) changed.push("leaders");
    }
    if (changed.length) {
      const scopePaths = [...new Set([department.path, current.path])];
      ctx.emit(STREAMS.directory, {
        type: DirectoryEventType.DEPARTMENT_UPDATED,
        subjectType: "Department",
        subjectId: department.pk,
        audience: scopePaths,
        data: { changedFields: changed },
      });
    }
    return current;
  }

  async delete(ctx: RequestContext, pk: string): Promise<Department> {
    requireTreeWrite(ctx.caller);
    await this.lockTree(ctx);
    const department = await this.get(ctx, pk, "input.id");
    if (department.parentId === null) throw badInput("input.id", "The root department cannot be deleted.");
    const usage = await ctx.db.one<{ children: boolean; members: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM department WHERE corp_id = $1 AND parent_id = $2) AS children,
              EXISTS (SELECT 1 FROM member_department WHERE corp_id = $1 AND department_id = $2) AS members`,
      [department.pk],
    );
    if (usage?.children) throw conflict("The department has sub-departments: move or delete them first.", "input.id");
    if (usage?.members) throw conflict("The department has members: move or remove them first.", "input.id");
    await ctx.db.exec(`DELETE FROM department WHERE corp_id = $1 AND id = $2`, [department.pk]);
    ctx.emit(STREAMS.directory, {
      type: DirectoryEventType.DEPARTMENT_DELETED,
      subjectType: "Department",
      subjectId: department.pk,
      audience: [department.path],
      data: { name: department.name },
    });
    return department;
  }

  /** Serialises tree changes within a corp (held until the transaction ends). */
  private async lockTree(ctx: RequestContext): Promise<void> {
    await lockDepartmentTree(ctx.db);
  }
}
