import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Issue 13 (review finding 7): one random id per database, made once. Gateways on the same database
 * name their Redis buckets and event channel after it, so every instance of a deployment shares
 * them whichever way it reaches PostgreSQL, and two deployments never do.
 */
export class Deployment1796300000000 implements MigrationInterface {
    name = 'Deployment1796300000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(
            `CREATE TABLE "deployment" ("singleton" boolean NOT NULL DEFAULT true, "id" uuid NOT NULL, CONSTRAINT "deployment_singleton_check" CHECK ("singleton"), CONSTRAINT "deployment_pkey" PRIMARY KEY ("singleton"))`,
        );
        await queryRunner.query(`INSERT INTO "deployment" ("id") VALUES (gen_random_uuid())`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TABLE "deployment"`);
    }
}
