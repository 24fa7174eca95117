import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Issue 14 item 2, retention: messages older than 90 days are purged by a periodic job, which
 * finds them through `message_created_at_idx` and records on their conversation where history now
 * starts (`purged_seq`, the highest purged seq, and `history_purged_before`, the cut-off time), so
 * a resume cursor into the purged part is refused instead of skipping it silently.
 */
export class MessageRetention1796500000200 implements MigrationInterface {
    name = 'MessageRetention1796500000200'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "conversation" ADD "purged_seq" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "conversation" ADD "history_purged_before" TIMESTAMP WITH TIME ZONE`);
        await queryRunner.query(`CREATE INDEX "message_created_at_idx" ON "message" ("created_at") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."message_created_at_idx"`);
        await queryRunner.query(`ALTER TABLE "conversation" DROP COLUMN "history_purged_before"`);
        await queryRunner.query(`ALTER TABLE "conversation" DROP COLUMN "purged_seq"`);
    }
}
