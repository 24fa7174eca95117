import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Issue 11 (finding 5): disabling an app refuses every token issued until then for good; enabling
 * it again does not revive them (as uninstalling already did for vendor apps).
 */
export class AppTokensValidAfter1795900000200 implements MigrationInterface {
    name = 'AppTokensValidAfter1795900000200'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "app" ADD "tokens_valid_after" TIMESTAMP WITH TIME ZONE`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "app" DROP COLUMN "tokens_valid_after"`);
    }
}
