import { MigrationInterface, QueryRunner } from "typeorm";

/** Issue 5: vendor apps sign members in too; their redirect URIs are the vendor's, for every corp. */
export class VendorSso1795800000001 implements MigrationInterface {
    name = 'VendorSso1795800000001'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "vendor_app" ADD "redirect_uris" text array NOT NULL DEFAULT '{}'`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "vendor_app" DROP COLUMN "redirect_uris"`);
    }
}
