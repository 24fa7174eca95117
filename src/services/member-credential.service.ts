import { LOCK_MINUTES, MAX_FAILED_SIGN_INS } from "../auth/passwords";
import type { CorpDb } from "../db/scoped-db";
import type { Tx } from "../db/transaction";
import { DirectoryEventType } from "../domain/enums";
import { STREAMS, type EventLog } from "../events/log";

/**
 * The member and credential rows that sign-in and activation write (issue 5): failed-attempt
 * counting and the lock, password changes, and an activation making an UNACTIVATED member ACTIVE.
 * The sign-in flows in `auth/` call it with the corp-scoped handle of their statement or
 * transaction; the rules of who may do what to a member stay in `MemberService`/`CredentialService`.
 */
export class MemberCredentialService {
  constructor(private readonly events: EventLog) {}

  /**
   * Counts a sign-in attempt before the password is checked, in one statement with the lock test:
   * concurrent guesses cannot all pass a lock test read before any of them had failed. The
   * MAX_FAILED_SIGN_INS-th attempt in a row locks the account for LOCK_MINUTES; the counter starts
   * again after the lock. Undefined while the account is locked (nothing counted).
   */
  async countSignInAttempt(db: CorpDb, memberPk: string): Promise<{ lockedNow: boolean } | undefined> {
    const row = await db.one<{ locked_now: boolean }>(
      `UPDATE member_credential SET failed_attempts = CASE WHEN failed_attempts + 1 >= $3 THEN 0 ELSE failed_attempts + 1 END,
              locked_until = CASE WHEN failed_attempts + 1 >= $3 THEN now() + make_interval(mins => $4) ELSE locked_until END
        WHERE corp_id = $1 AND member_id = $2 AND (locked_until IS NULL OR locked_until <= now())
       RETURNING locked_until IS NOT NULL AND locked_until > now() AS locked_now`,
      [memberPk, MAX_FAILED_SIGN_INS, LOCK_MINUTES],
    );
    return row && { lockedNow: row.locked_now };
  }

  /** After a correct password: the failed attempts are forgotten. */
  async clearFailedSignIns(db: CorpDb, memberPk: string): Promise<void> {
    await db.exec(`UPDATE member_credential SET failed_attempts = 0, locked_until = NULL WHERE corp_id = $1 AND member_id = $2`, [memberPk]);
  }

  /** Replaces an expired password (`passwordHash` already hashed) at sign-in. */
  async changePassword(db: CorpDb, memberPk: string, passwordHash: string): Promise<void> {
    await db.exec(`UPDATE member_credential SET password_hash = $3, password_changed_at = now() WHERE corp_id = $1 AND member_id = $2`, [
      memberPk,
      passwordHash,
    ]);
  }

  /** Sets the password through an activation link: creates the credential row or resets it (and its lock). */
  async setPassword(db: CorpDb, memberPk: string, passwordHash: string): Promise<void> {
    await db.exec(
      `INSERT INTO member_credential (member_id, corp_id, password_hash, password_changed_at) VALUES ($2, $1, $3, now())
       ON CONFLICT (member_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, password_changed_at = now(), failed_attempts = 0, locked_until = NULL`,
      [memberPk, passwordHash],
    );
  }

  /** An UNACTIVATED member becomes ACTIVE (a MEMBER_UPDATED event in `tx`); any other member is left as is. */
  async activateMember(tx: Tx, memberPk: string): Promise<boolean> {
    const activated = await tx.db.one<{ paths: string[] }>(
      `WITH up AS (UPDATE member m SET status = 'ACTIVE', updated_at = now() WHERE m.corp_id = $1 AND m.id = $2 AND m.status = 'UNACTIVATED' RETURNING m.id)
       SELECT ARRAY(SELECT d.path FROM member_department md JOIN department d ON d.id = md.department_id
                      WHERE md.corp_id = $1 AND md.member_id = up.id) AS paths
         FROM up`,
      [memberPk],
    );
    if (!activated) return false;
    this.events.append(tx, STREAMS.directory, {
      type: DirectoryEventType.MEMBER_UPDATED,
      subjectType: "Member",
      subjectId: memberPk,
      audience: activated.paths,
      data: { changedFields: ["status"] },
    });
    return true;
  }
}
