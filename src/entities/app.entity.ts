import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import { Corp } from "./corp.entity";

/**
 * An app installed in a corp: the client of the client-credentials grant. `secretHash` is never
 * exposed; `visibleDepartmentIds` null means the whole corp.
 */
@Entity({ name: "app" })
@Index("app_client_id_key", ["clientId"], { unique: true })
@Index("app_corp_id_idx", ["corpId"])
export class App {
  @PrimaryGeneratedColumn("identity", { name: "id", type: "bigint", primaryKeyConstraintName: "app_pkey" })
  pk: string;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "app_corp_id_fkey" })
  corp?: Corp;

  @Column({ type: "varchar", length: 100 })
  name: string;

  @Column({ name: "client_id", type: "varchar", length: 64 })
  clientId: string;

  @Column({ name: "secret_hash", type: "varchar", length: 128 })
  secretHash: string;

  @Column({ type: "text", array: true })
  scopes: string[];

  @Column({ name: "visible_department_ids", type: "bigint", array: true, nullable: true })
  visibleDepartmentIds: string[] | null;

  @Column({ type: "boolean", default: true })
  enabled: boolean;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;
}
