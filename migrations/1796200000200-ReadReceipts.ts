import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Issue 14, read receipts: a message's read and unread counts and its unread members are ranges of
 * its conversation's read pointers (`read_seq` below or from its seq), read through this index
 * instead of every membership row of a 10,000-member group. A new index only: safe for a rolling
 * upgrade (build it CONCURRENTLY by hand first on a large database).
 */
export class ReadReceipts1796200000200 implements MigrationInterface {
    name = 'ReadReceipts1796200000200'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE INDEX "conversation_member_read_idx" ON "conversation_member" ("conversation_id", "read_seq")`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."conversation_member_read_idx"`);
    }
}
