import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from "typeorm";
import { Field, ID, Int, ObjectType } from "type-graphql";
import { Corp } from "./corp.entity";
import { Node } from "../schema/node";
import { toGlobalId } from "../schema/global-id";

/** Maximum depth below the root (source §1: at most 15 levels). */
export const MAX_DEPARTMENT_DEPTH = 15;

/**
 * A node of the corp's department tree. `path` is the materialised path of ids from the root
 * (`/1/5/23/`), so a subtree is one indexed prefix scan.
 */
@Entity({ name: "department" })
@ObjectType("Department", {
  implements: Node,
  simpleResolvers: true, // plain property reads for plain fields, as on Member
  description: "A department in the corp's tree (HQ → branch → department), at most 15 levels below the root.",
})
@Index("department_corp_parent_order_idx", ["corpId", "parentId", "order", "pk"])
@Index("department_parent_name_key", ["parentId", "name"], { unique: true })
@Index("department_corp_root_key", ["corpId"], { unique: true, where: `"parent_id" IS NULL` })
@Index("department_corp_path_idx", { synchronize: false })
@Check("department_depth_check", `"depth" >= 0 AND "depth" <= ${MAX_DEPARTMENT_DEPTH}`)
export class Department {
  @PrimaryGeneratedColumn("identity", { name: "id", type: "bigint", primaryKeyConstraintName: "department_pkey" })
  pk: string;

  @Field(() => ID, { description: "Opaque global id." })
  get id(): string {
    return toGlobalId("Department", this.pk);
  }

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "department_corp_id_fkey" })
  corp?: Corp;

  @Column({ name: "parent_id", type: "bigint", nullable: true })
  parentId: string | null;

  @ManyToOne(() => Department, { onDelete: "RESTRICT" })
  @JoinColumn({ name: "parent_id", foreignKeyConstraintName: "department_parent_id_fkey" })
  parent?: Department;

  @Field({ description: "Display name, 1–64 characters, unique among its siblings." })
  @Column({ type: "varchar", length: 64 })
  name: string;

  @Field(() => Int, { description: "Sort key among siblings; lower comes first (ties by creation)." })
  @Column({ type: "integer", default: 0 })
  order: number;

  @Field(() => Int, { description: "Levels below the root: the root is 0, its children 1, at most 15." })
  @Column({ type: "integer" })
  depth: number;

  @Column({ type: "varchar", length: 400 })
  path: string;

  @Field({ description: "When the department was created." })
  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  @Field({ description: "When the department was last changed." })
  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" })
  updatedAt: Date;

  /** Ids of the ancestors, root first, excluding this department. */
  ancestorPks(): string[] {
    return this.path.split("/").filter(Boolean).slice(0, -1);
  }
}
