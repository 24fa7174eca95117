import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Issue 12: the event log carries more than one stream (the directory now; messages and customers
 * next). Each row names its stream, its subject generically (type and id instead of the directory's
 * `member_id` / `department_id`) and its audience (the directory's department paths, formerly
 * `scope_paths`); readers follow one stream of a corp through (corp_id, stream, id).
 *
 * Not for a rolling upgrade: gateways of the earlier version write the dropped columns and take the
 * earlier per-corp lock, so stop them all, migrate, then start the new version. It rewrites every
 * event row and builds the index under one lock of the table (seconds for a million events).
 */
export class EventStreams1796000000000 implements MigrationInterface {
    name = 'EventStreams1796000000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "event" ADD "stream" character varying(64) NOT NULL DEFAULT 'directory'`);
        await queryRunner.query(`ALTER TABLE "event" ALTER COLUMN "stream" DROP DEFAULT`);
        await queryRunner.query(`ALTER TABLE "event" ADD "subject_type" character varying(32)`);
        await queryRunner.query(`ALTER TABLE "event" ADD "subject_id" bigint`);
        await queryRunner.query(`UPDATE "event" SET "subject_type" = CASE WHEN "member_id" IS NOT NULL THEN 'Member' ELSE 'Department' END, "subject_id" = coalesce("member_id", "department_id") WHERE coalesce("member_id", "department_id") IS NOT NULL`);
        await queryRunner.query(`ALTER TABLE "event" DROP COLUMN "member_id"`);
        await queryRunner.query(`ALTER TABLE "event" DROP COLUMN "department_id"`);
        await queryRunner.query(`ALTER TABLE "event" RENAME COLUMN "scope_paths" TO "audience"`);
        await queryRunner.query(`DROP INDEX "public"."event_corp_id_idx"`);
        await queryRunner.query(`CREATE INDEX "event_stream_idx" ON "event" ("corp_id", "stream", "id") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."event_stream_idx"`);
        await queryRunner.query(`CREATE INDEX "event_corp_id_idx" ON "event" ("corp_id", "id") `);
        await queryRunner.query(`ALTER TABLE "event" RENAME COLUMN "audience" TO "scope_paths"`);
        await queryRunner.query(`ALTER TABLE "event" ADD "department_id" bigint`);
        await queryRunner.query(`ALTER TABLE "event" ADD "member_id" bigint`);
        await queryRunner.query(`UPDATE "event" SET "member_id" = CASE WHEN "subject_type" = 'Member' THEN "subject_id" END, "department_id" = CASE WHEN "subject_type" = 'Department' THEN "subject_id" END`);
        await queryRunner.query(`DELETE FROM "event" WHERE "stream" <> 'directory'`);
        await queryRunner.query(`ALTER TABLE "event" DROP COLUMN "subject_id"`);
        await queryRunner.query(`ALTER TABLE "event" DROP COLUMN "subject_type"`);
        await queryRunner.query(`ALTER TABLE "event" DROP COLUMN "stream"`);
    }
}
