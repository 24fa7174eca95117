import { Check, Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from "typeorm";
import { Field, ID, ObjectType } from "type-graphql";
import { Edition } from "../domain/enums";
import { Node } from "../schema/node";
import { toGlobalId } from "../schema/global-id";

/** A tenant: one organisation. Every row of corp data carries its corp id. */
@Entity({ name: "corp" })
@ObjectType("Corp", { implements: Node, description: "An organisation (tenant). Everything a token reaches belongs to one corp." })
@Check("corp_edition_check", `"edition" IN ('BASIC', 'PROFESSIONAL')`)
export class Corp {
  @PrimaryGeneratedColumn("identity", { name: "id", type: "bigint", primaryKeyConstraintName: "corp_pkey" })
  pk: string;

  @Field(() => ID, { description: "Opaque global id." })
  get id(): string {
    return toGlobalId("Corp", this.pk);
  }

  @Field({ description: "The organisation's name; also the name of its root department." })
  @Column({ type: "varchar", length: 100 })
  name: string;

  @Field(() => Edition, { description: "Subscription tier; decides limits and which APIs are available." })
  @Column({ type: "varchar", length: 16 })
  edition: Edition;

  @Field({ description: "When the corp was created." })
  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;
}
