import type { Pool } from "pg";
import type { CrossCorpDb } from "../db/cross-corp";
import { transaction } from "../db/transaction";
import type { MemberCredentialService } from "../services/member-credential.service";
import { writeAudit } from "../services/audit";
import { hashPassword, passwordProblem } from "./passwords";
import { sha256 } from "./secrets";

const INVALID_LINK = "This link is invalid, expired or already used.";

/** Activation links (issue 5): a member sets a password through a single-use link; an UNACTIVATED member becomes ACTIVE. */
export class Activation {
  constructor(
    private readonly pool: Pool,
    private readonly crossCorp: CrossCorpDb,
    private readonly credentials: MemberCredentialService,
  ) {}

  /** The member an activation link is for, while it is unused and unexpired. */
  async target(token: string): Promise<{ corpPk: string; memberPk: string; name: string; employeeId: string; corpName: string } | undefined> {
    // By hash, across corps: the link is what names the corp.
    const row = await this.crossCorp.one<{ corp_id: string; member_id: string; name: string; employee_id: string; corp_name: string }>(
      `SELECT l.corp_id, l.member_id, m.name, m.employee_id, c.name AS corp_name
         FROM activation_link l JOIN member m ON m.id = l.member_id AND m.corp_id = l.corp_id JOIN corp c ON c.id = l.corp_id
        WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > now() AND m.status IN ('ACTIVE', 'UNACTIVATED')`,
      [sha256(token)],
    );
    return row ? { corpPk: row.corp_id, memberPk: row.member_id, name: row.name, employeeId: row.employee_id, corpName: row.corp_name } : undefined;
  }

  /** Sets the password through an activation link (single use); an UNACTIVATED member becomes ACTIVE. */
  async activate(token: string, password: string, ip: string | undefined): Promise<{ error?: string; corpName?: string; employeeId?: string }> {
    const problem = passwordProblem(password);
    if (problem) return { error: problem };
    const target = await this.target(token);
    if (!target) return { error: INVALID_LINK };
    const hash = await hashPassword(password);
    const used = await transaction(this.pool, target.corpPk, async (tx) => {
      const spent = await tx.db.exec(
        `UPDATE activation_link SET used_at = now() WHERE corp_id = $1 AND token_hash = $2 AND used_at IS NULL AND expires_at > now()`,
        [sha256(token)],
      );
      if (!spent) return false;
      await this.credentials.setPassword(tx.db, target.memberPk, hash);
      await this.credentials.activateMember(tx, target.memberPk);
      await writeAudit(tx.db, { action: "PASSWORD_SET", success: true, memberPk: target.memberPk, ip, detail: { via: "activation link" } });
      return true;
    });
    if (!used) return { error: INVALID_LINK };
    return { corpName: target.corpName, employeeId: target.employeeId };
  }
}
