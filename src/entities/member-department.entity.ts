import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { Corp } from "./corp.entity";
import { Department } from "./department.entity";
import { Member } from "./member.entity";

/** A member belongs to one or more departments (source §1). */
@Entity({ name: "member_department" })
@Index("member_department_department_member_idx", ["departmentId", "memberId"])
export class MemberDepartment {
  @PrimaryColumn({ name: "member_id", type: "bigint", primaryKeyConstraintName: "member_department_pkey" })
  memberId: string;

  @PrimaryColumn({ name: "department_id", type: "bigint", primaryKeyConstraintName: "member_department_pkey" })
  departmentId: string;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "member_department_corp_id_fkey" })
  corp?: Corp;

  @ManyToOne(() => Member, { onDelete: "CASCADE" })
  @JoinColumn({ name: "member_id", foreignKeyConstraintName: "member_department_member_id_fkey" })
  member?: Member;

  @ManyToOne(() => Department, { onDelete: "RESTRICT" })
  @JoinColumn({ name: "department_id", foreignKeyConstraintName: "member_department_department_id_fkey" })
  department?: Department;
}
