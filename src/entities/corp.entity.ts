import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Check } from "typeorm";
import { Edition } from "../schema/enums";

/** A tenant: one organisation. Every row of corp data carries its corp id. */
@Entity({ name: "corp" })
@Check("corp_edition_check", `"edition" IN ('BASIC', 'PROFESSIONAL')`)
export class Corp {
  @PrimaryGeneratedColumn("identity", { name: "id", type: "bigint", primaryKeyConstraintName: "corp_pkey" })
  pk: string;

  @Column({ type: "varchar", length: 100 })
  name: string;

  @Column({ type: "varchar", length: 16 })
  edition: Edition;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;
}
