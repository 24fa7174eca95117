import { MigrationInterface, QueryRunner } from "typeorm";

/** Issue 10: an import reports every problem of a row, one error per field (the key adds `field`). */
export class ImportErrorPerField1795900000100 implements MigrationInterface {
    name = 'ImportErrorPerField1795900000100'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "import_job_error" DROP CONSTRAINT "import_job_error_pkey"`);
        await queryRunner.query(`ALTER TABLE "import_job_error" ADD CONSTRAINT "import_job_error_pkey" PRIMARY KEY ("job_id", "row_number", "field")`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        // Back to one error per row: keep each row's first error (by field name).
        await queryRunner.query(`DELETE FROM "import_job_error" e USING "import_job_error" f
                                  WHERE f."job_id" = e."job_id" AND f."row_number" = e."row_number" AND f."field" < e."field"`);
        await queryRunner.query(`ALTER TABLE "import_job_error" DROP CONSTRAINT "import_job_error_pkey"`);
        await queryRunner.query(`ALTER TABLE "import_job_error" ADD CONSTRAINT "import_job_error_pkey" PRIMARY KEY ("job_id", "row_number")`);
    }
}
