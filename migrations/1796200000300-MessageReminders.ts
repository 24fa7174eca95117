import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Issue 14, read receipts' reminders: when a message's sender last reminded its unread members
 * (`remindUnread`, at most once every 10 minutes per message). A nullable column without a default:
 * no table rewrite, safe for a rolling upgrade.
 */
export class MessageReminders1796200000300 implements MigrationInterface {
    name = 'MessageReminders1796200000300'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "message" ADD "reminded_at" TIMESTAMP WITH TIME ZONE`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "message" DROP COLUMN "reminded_at"`);
    }
}
