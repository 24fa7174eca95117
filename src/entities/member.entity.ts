import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from "typeorm";
import { Field, ID, ObjectType } from "type-graphql";
import { Corp } from "./corp.entity";
import { Department } from "./department.entity";
import { MemberStatus } from "../domain/enums";
import { Node } from "../schema/node";
import { toGlobalId } from "../schema/global-id";

/** A person in the corp's directory. */
@Entity({ name: "member" })
// simpleResolvers: fields without a @FieldResolver resolve as plain property reads (no per-field
// wrapper: the schema has no middlewares or auth checker for them to run).
@ObjectType("Member", { implements: Node, simpleResolvers: true, description: "A person in the corp's directory (an employee)." })
@Index("member_corp_employee_id_key", ["corpId", "employeeId"], { unique: true })
@Index("member_corp_mobile_key", ["corpId", "mobile"], { unique: true, where: `"mobile" IS NOT NULL` })
@Index("member_corp_email_key", ["corpId", "email"], { unique: true, where: `"email" IS NOT NULL` })
@Index("member_corp_status_idx", ["corpId", "status", "pk"])
@Index("member_main_department_idx", ["mainDepartmentId"])
@Index("member_search_trgm_idx", { synchronize: false })
@Check("member_status_check", `"status" IN ('ACTIVE', 'DISABLED', 'UNACTIVATED', 'RESIGNED')`)
export class Member {
  @PrimaryGeneratedColumn("identity", { name: "id", type: "bigint", primaryKeyConstraintName: "member_pkey" })
  pk: string;

  @Field(() => ID, { description: "Opaque global id." })
  get id(): string {
    return toGlobalId("Member", this.pk);
  }

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "member_corp_id_fkey" })
  corp?: Corp;

  @Field({ description: "Employee id (工号): 1–64 letters, digits, `.`, `_`, `-`, `@`; unique in the corp." })
  @Column({ name: "employee_id", type: "varchar", length: 64 })
  employeeId: string;

  @Field({ description: "Full name, 1–64 characters." })
  @Column({ type: "varchar", length: 64 })
  name: string;

  @Field(() => String, { nullable: true, description: "Job title (职务), at most 128 characters." })
  @Column({ type: "varchar", length: 128, nullable: true })
  title: string | null;

  @Field(() => String, { nullable: true, description: "Phone extension (分机号): 1–32 digits, `-`, `+`, `*` or `#`." })
  @Column({ type: "varchar", length: 32, nullable: true })
  extension: string | null;

  @Field(() => String, { nullable: true, description: "Mobile number: optional `+`, then 5–20 digits; unique in the corp." })
  @Column({ type: "varchar", length: 32, nullable: true })
  mobile: string | null;

  @Field(() => String, { nullable: true, description: "Email address, unique in the corp, stored lower-case." })
  @Column({ type: "varchar", length: 254, nullable: true })
  email: string | null;

  @Field(() => MemberStatus, { description: "Account state." })
  @Column({ type: "varchar", length: 16, default: MemberStatus.UNACTIVATED })
  status: MemberStatus;

  @Field({ description: "Corp administrator: may manage the whole directory and the corp's apps." })
  @Column({ name: "is_corp_admin", type: "boolean", default: false })
  isCorpAdmin: boolean;

  @Column({ name: "main_department_id", type: "bigint" })
  mainDepartmentId: string;

  @ManyToOne(() => Department, { onDelete: "RESTRICT" })
  @JoinColumn({ name: "main_department_id", foreignKeyConstraintName: "member_main_department_id_fkey" })
  mainDepartment?: Department;

  @Field({ description: "When the member was created." })
  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  @Field({ description: "When the member's profile, departments or status last changed." })
  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" })
  updatedAt: Date;
}
