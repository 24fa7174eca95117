import { Check, Column, Entity, PrimaryColumn } from "typeorm";

/** The one row naming this database's deployment (migration Deployment): the Redis names of its gateways. */
@Entity({ name: "deployment" })
@Check("deployment_singleton_check", `"singleton"`)
export class Deployment {
  @PrimaryColumn({ type: "boolean", default: true, primaryKeyConstraintName: "deployment_pkey" })
  singleton: boolean;

  /** Made by the migration (gen_random_uuid()), never changed. */
  @Column({ type: "uuid" })
  id: string;
}
