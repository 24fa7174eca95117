import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Batch import and export (issue 4): import jobs with their per-row errors, and requested exports.
 * At most one QUEUED or RUNNING import per corp (a partial unique index, so it holds across
 * instances); directory health scans use the existing status and tree indexes.
 */
export class Import1795700000000 implements MigrationInterface {
    name = 'Import1795700000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "import_job" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "corp_id" bigint NOT NULL, "app_id" bigint NOT NULL, "member_id" bigint, "status" character varying(16) NOT NULL, "mode" character varying(8) NOT NULL, "dry_run" boolean NOT NULL DEFAULT false, "max_resign_ratio" double precision NOT NULL, "total" integer NOT NULL DEFAULT '0', "processed" integer NOT NULL DEFAULT '0', "created" integer NOT NULL DEFAULT '0', "updated" integer NOT NULL DEFAULT '0', "resigned" integer NOT NULL DEFAULT '0', "failed" integer NOT NULL DEFAULT '0', "departments_created" integer NOT NULL DEFAULT '0', "reason" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "import_job_status_check" CHECK ("status" IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED')), CONSTRAINT "import_job_mode_check" CHECK ("mode" IN ('UPSERT', 'REPLACE')), CONSTRAINT "import_job_pkey" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "import_job_corp_active_key" ON "import_job" ("corp_id") WHERE "status" IN ('QUEUED', 'RUNNING')`);
        await queryRunner.query(`CREATE INDEX "import_job_corp_created_idx" ON "import_job" ("corp_id", "created_at") `);
        await queryRunner.query(`CREATE INDEX "import_job_active_idx" ON "import_job" ("status") WHERE "status" IN ('QUEUED', 'RUNNING')`);
        await queryRunner.query(`CREATE TABLE "import_job_error" ("job_id" uuid NOT NULL, "row_number" integer NOT NULL, "corp_id" bigint NOT NULL, "field" character varying(32) NOT NULL, "code" character varying(32) NOT NULL, "message" text NOT NULL, CONSTRAINT "import_job_error_pkey" PRIMARY KEY ("job_id", "row_number"))`);
        await queryRunner.query(`CREATE INDEX "import_job_error_corp_id_idx" ON "import_job_error" ("corp_id") `);
        await queryRunner.query(`CREATE TABLE "member_export" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "corp_id" bigint NOT NULL, "app_id" bigint NOT NULL, "filter" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "member_export_pkey" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "member_export_corp_id_idx" ON "member_export" ("corp_id", "created_at") `);
        await queryRunner.query(`ALTER TABLE "import_job" ADD CONSTRAINT "import_job_corp_id_fkey" FOREIGN KEY ("corp_id") REFERENCES "corp"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "import_job_error" ADD CONSTRAINT "import_job_error_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "import_job"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "import_job_error" ADD CONSTRAINT "import_job_error_corp_id_fkey" FOREIGN KEY ("corp_id") REFERENCES "corp"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        await queryRunner.query(`ALTER TABLE "member_export" ADD CONSTRAINT "member_export_corp_id_fkey" FOREIGN KEY ("corp_id") REFERENCES "corp"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "member_export" DROP CONSTRAINT "member_export_corp_id_fkey"`);
        await queryRunner.query(`ALTER TABLE "import_job_error" DROP CONSTRAINT "import_job_error_corp_id_fkey"`);
        await queryRunner.query(`ALTER TABLE "import_job_error" DROP CONSTRAINT "import_job_error_job_id_fkey"`);
        await queryRunner.query(`ALTER TABLE "import_job" DROP CONSTRAINT "import_job_corp_id_fkey"`);
        await queryRunner.query(`DROP INDEX "public"."member_export_corp_id_idx"`);
        await queryRunner.query(`DROP TABLE "member_export"`);
        await queryRunner.query(`DROP INDEX "public"."import_job_error_corp_id_idx"`);
        await queryRunner.query(`DROP TABLE "import_job_error"`);
        await queryRunner.query(`DROP INDEX "public"."import_job_active_idx"`);
        await queryRunner.query(`DROP INDEX "public"."import_job_corp_created_idx"`);
        await queryRunner.query(`DROP INDEX "public"."import_job_corp_active_key"`);
        await queryRunner.query(`DROP TABLE "import_job"`);
    }

}
