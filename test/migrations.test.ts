import { TestGateway } from "./harness";
import { migrate } from "../src/db/migrate";
import { MIGRATIONS } from "../migrations";
import { TokenService } from "../src/auth/tokens";
import { Edition } from "../src/domain/enums";
import { toGlobalId } from "../src/schema/global-id";

/**
 * The schema is what `migrations/` creates, and the entities declare exactly that: TypeORM's
 * schema diff is empty after migrating. Indexes TypeORM cannot express exist too, and every
 * migration reverts cleanly and applies again.
 */

const TABLES = [
  "app",
  "corp",
  "department",
  "department_leader",
  "deployment",
  "event",
  "import_job",
  "import_job_error",
  "member",
  "member_department",
  "member_export",
  "signing_key",
  "typeorm_migrations",
];
/** Apps and SSO (issue 5). */
const SSO_TABLES = ["activation_link", "audit_log", "member_credential", "oauth_code", "refresh_token", "revoked_token", "vendor_app"];
/** Messaging (issue 14). */
const MESSAGING_TABLES = [
  "conversation",
  "conversation_member",
  "member_do_not_disturb",
  "message",
  "message_ballot",
  "message_form_submission",
  "message_todo_done",
];
/** Group robots and the compliance audit (issue 14, items 7 and 8). */
const BOT_TABLES = ["auto_reply_rule", "group_bot", "message_audit_hit", "sensitive_word"];

/** The indexes the entities mark `synchronize: false` (created by raw SQL in the migration). */
const RAW_INDEXES = [
  {
    indexname: "department_corp_path_idx",
    tablename: "department",
    indexdef: "CREATE INDEX department_corp_path_idx ON public.department USING btree (corp_id, path varchar_pattern_ops)",
  },
  {
    indexname: "member_search_trgm_idx",
    tablename: "member",
    indexdef:
      "CREATE INDEX member_search_trgm_idx ON public.member USING gin (lower((((((((name)::text || ' '::text) || (employee_id)::text) || ' '::text) || (COALESCE(email, ''::character varying))::text) || ' '::text) || (COALESCE(mobile, ''::character varying))::text)) gin_trgm_ops)",
  },
];

describe("migrations", () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterAll(() => gw.stop());

  const tables = async () =>
    (await gw.sql<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")).map((r) => r.tablename);
  const rawIndexes = () =>
    gw.sql("SELECT indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname = ANY($1) ORDER BY indexname", [
      RAW_INDEXES.map((i) => i.indexname),
    ]);
  /** The SQL TypeORM would run to make the database match the entities (none when they agree). */
  const pendingSchemaChanges = async () => (await gw.deps.dataSource.driver.createSchemaBuilder().log()).upQueries.map((q) => q.query);

  it("have all run", async () => {
    const applied = await gw.sql<{ name: string }>("SELECT name FROM typeorm_migrations ORDER BY id");
    expect(applied.map((r) => r.name)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await gw.deps.dataSource.showMigrations()).toBe(false);
    expect(await tables()).toEqual([...TABLES, ...SSO_TABLES, ...MESSAGING_TABLES, ...BOT_TABLES].sort());
  });

  it("produce exactly the schema the entities declare", async () => {
    expect(await pendingSchemaChanges()).toEqual([]);
  });

  it("would notice a drift (the comparison above is not vacuous)", async () => {
    await gw.sql("ALTER TABLE member ALTER COLUMN title TYPE varchar(100)");
    try {
      const changes = await pendingSchemaChanges();
      expect(changes.length).toBeGreaterThan(0);
      expect(changes.some((q) => q.includes(`"title"`))).toBe(true);
    } finally {
      await gw.sql("ALTER TABLE member ALTER COLUMN title TYPE varchar(128)");
    }
    expect(await pendingSchemaChanges()).toEqual([]);
  });

  it("create the indexes the entities cannot declare", async () => {
    expect(await rawIndexes()).toEqual(RAW_INDEXES);
  });

  it("revert completely and apply again", async () => {
    const ds = gw.deps.dataSource;
    for (let i = 0; i < MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: "each" });
    expect(await gw.sql("SELECT name FROM typeorm_migrations")).toEqual([]);
    expect(await tables()).toEqual(["typeorm_migrations"]);
    expect(await rawIndexes()).toEqual([]);
    // Nothing left to undo: a further revert is a no-op.
    await ds.undoLastMigration();
    expect(await tables()).toEqual(["typeorm_migrations"]);

    await migrate(ds);
    expect(await tables()).toEqual([...TABLES, ...SSO_TABLES, ...MESSAGING_TABLES, ...BOT_TABLES].sort());
    expect(await rawIndexes()).toEqual(RAW_INDEXES);
    expect(await pendingSchemaChanges()).toEqual([]);
    expect((await gw.sql<{ name: string }>("SELECT name FROM typeorm_migrations ORDER BY id")).map((r) => r.name)).toEqual(MIGRATIONS.map((m) => m.name));
    // Running them again changes nothing.
    await migrate(ds);
    expect(await gw.sql("SELECT count(*)::int AS n FROM typeorm_migrations")).toEqual([{ n: MIGRATIONS.length }]);
  });

  it("leave a schema the gateway works on", async () => {
    // The signing key went with the reverted tables: a token service starting on this database makes a new one.
    const corp = await gw.deps.services.corps.create({ name: "After Migrations", edition: Edition.PROFESSIONAL });
    const tokens = new TokenService(gw.deps.pool, gw.config);
    await tokens.init();
    expect(await gw.sql("SELECT count(*)::int AS n FROM signing_key")).toEqual([{ n: 1 }]);
    const token = tokens.issue({ clientId: corp.clientId, corpId: corp.corpPk, scopes: ["directory:read"] }).token;
    expect((await tokens.verify(token)).corp).toBe(toGlobalId("Corp", corp.corpPk));
  });
});
