import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { Corp } from "./corp.entity";
import { Department } from "./department.entity";
import { Member } from "./member.entity";

/** A department's leaders (部门负责人): members of that department who manage its subtree. */
@Entity({ name: "department_leader" })
@Index("department_leader_member_idx", ["memberId"])
export class DepartmentLeader {
  @PrimaryColumn({ name: "department_id", type: "bigint", primaryKeyConstraintName: "department_leader_pkey" })
  departmentId: string;

  @PrimaryColumn({ name: "member_id", type: "bigint", primaryKeyConstraintName: "department_leader_pkey" })
  memberId: string;

  @Column({ name: "corp_id", type: "bigint" })
  corpId: string;

  @ManyToOne(() => Corp, { onDelete: "CASCADE" })
  @JoinColumn({ name: "corp_id", foreignKeyConstraintName: "department_leader_corp_id_fkey" })
  corp?: Corp;

  @ManyToOne(() => Department, { onDelete: "CASCADE" })
  @JoinColumn({ name: "department_id", foreignKeyConstraintName: "department_leader_department_id_fkey" })
  department?: Department;

  @ManyToOne(() => Member, { onDelete: "CASCADE" })
  @JoinColumn({ name: "member_id", foreignKeyConstraintName: "department_leader_member_id_fkey" })
  member?: Member;
}
