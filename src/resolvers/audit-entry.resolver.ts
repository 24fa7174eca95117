import { FieldResolver, Resolver, Root } from "type-graphql";
import type { AuditLog } from "../entities/audit-log.entity";
import { AuditEntry } from "../schema/app.types";
import { toGlobalId } from "../schema/global-id";

/** An audit row as the API shows it: global ids, the outcome as a boolean, the detail as JSON text. */
@Resolver(() => AuditEntry)
export class AuditEntryResolver {
  @FieldResolver()
  id(@Root() row: AuditLog): string {
    return row.pk;
  }

  @FieldResolver()
  success(@Root() row: AuditLog): boolean {
    return row.outcome === "SUCCESS";
  }

  @FieldResolver()
  appId(@Root() row: AuditLog): string | null {
    return row.appId ? toGlobalId("App", row.appId) : null;
  }

  @FieldResolver()
  memberId(@Root() row: AuditLog): string | null {
    return row.memberId ? toGlobalId("Member", row.memberId) : null;
  }

  @FieldResolver()
  detail(@Root() row: AuditLog): string {
    return JSON.stringify(row.detail);
  }
}
