import { MigrationInterface, QueryRunner } from "typeorm";

/** Issue 14 item 6: each member's do-not-disturb window (one row per member who set one). */
export class DoNotDisturb1796500000100 implements MigrationInterface {
    name = 'DoNotDisturb1796500000100'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "member_do_not_disturb" ("member_id" bigint NOT NULL, "corp_id" bigint NOT NULL, "from_minute" smallint NOT NULL, "to_minute" smallint NOT NULL, "timezone" character varying(64) NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "member_do_not_disturb_minutes_check" CHECK ("from_minute" BETWEEN 0 AND 1439 AND "to_minute" BETWEEN 0 AND 1439 AND "from_minute" <> "to_minute"), CONSTRAINT "member_do_not_disturb_pkey" PRIMARY KEY ("member_id"))`);
        await queryRunner.query(`ALTER TABLE "member_do_not_disturb" ADD CONSTRAINT "member_do_not_disturb_member_id_fkey" FOREIGN KEY ("member_id") REFERENCES "member"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "member_do_not_disturb" ADD CONSTRAINT "member_do_not_disturb_corp_id_fkey" FOREIGN KEY ("corp_id") REFERENCES "corp"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TABLE "member_do_not_disturb"`);
    }
}
