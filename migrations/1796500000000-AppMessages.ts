import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Issue 14 item 3, app messages: the messages of one `sendAppMessage` call carry the digest of
 * (app, audience, content) that a repeat within `dedupeSeconds` is found by, through a partial
 * index (only app messages have it). A nullable column without a default: no table rewrite. The
 * APP conversation of (app, member) reuses the unique `direct_key` (`app:<app>:<member>`).
 */
export class AppMessages1796500000000 implements MigrationInterface {
    name = 'AppMessages1796500000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "message" ADD "app_send_digest" character varying(64)`);
        await queryRunner.query(`CREATE INDEX "message_app_send_idx" ON "message" ("corp_id", "sender_app_id", "app_send_digest", "created_at") WHERE "app_send_digest" IS NOT NULL`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."message_app_send_idx"`);
        await queryRunner.query(`ALTER TABLE "message" DROP COLUMN "app_send_digest"`);
    }
}
