import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Issue 14: indexes on the messaging tables' references to members and apps, so that deleting a
 * member (its memberships, ballots, to-do completions and form submissions go with it, the groups it
 * owned lose their owner) or an app (its groups lose their creator) finds the rows by index instead
 * of reading the tables. New indexes only: safe for a rolling upgrade (build them CONCURRENTLY by
 * hand first on a large database).
 */
export class MessagingMemberIndexes1796200000100 implements MigrationInterface {
    name = 'MessagingMemberIndexes1796200000100'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE INDEX "conversation_member_member_idx" ON "conversation_member" ("member_id")`);
        await queryRunner.query(`CREATE INDEX "conversation_owner_idx" ON "conversation" ("owner_id")`);
        await queryRunner.query(`CREATE INDEX "conversation_created_by_app_idx" ON "conversation" ("created_by_app_id")`);
        await queryRunner.query(`CREATE INDEX "message_ballot_member_idx" ON "message_ballot" ("member_id")`);
        await queryRunner.query(`CREATE INDEX "message_todo_done_member_idx" ON "message_todo_done" ("member_id")`);
        await queryRunner.query(`CREATE INDEX "message_form_submission_member_idx" ON "message_form_submission" ("member_id")`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."message_form_submission_member_idx"`);
        await queryRunner.query(`DROP INDEX "public"."message_todo_done_member_idx"`);
        await queryRunner.query(`DROP INDEX "public"."message_ballot_member_idx"`);
        await queryRunner.query(`DROP INDEX "public"."conversation_created_by_app_idx"`);
        await queryRunner.query(`DROP INDEX "public"."conversation_owner_idx"`);
        await queryRunner.query(`DROP INDEX "public"."conversation_member_member_idx"`);
    }
}
