import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Issue 13: an app's own query-cost bucket, lowered below its edition's (`setAppRateLimit`). Both
 * null: the edition's size. Checked positive here; the edition's ceiling is applied when read, so an
 * edition change needs no rewrite.
 */
export class AppRateLimit1796100000000 implements MigrationInterface {
    name = 'AppRateLimit1796100000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "app" ADD "rate_limit_capacity" integer`);
        await queryRunner.query(`ALTER TABLE "app" ADD "rate_limit_restore_rate" integer`);
        await queryRunner.query(
            `ALTER TABLE "app" ADD CONSTRAINT "app_rate_limit_check" CHECK (("rate_limit_capacity" IS NULL AND "rate_limit_restore_rate" IS NULL) OR ("rate_limit_capacity" > 0 AND "rate_limit_restore_rate" > 0))`,
        );
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "app" DROP CONSTRAINT "app_rate_limit_check"`);
        await queryRunner.query(`ALTER TABLE "app" DROP COLUMN "rate_limit_restore_rate"`);
        await queryRunner.query(`ALTER TABLE "app" DROP COLUMN "rate_limit_capacity"`);
    }
}
