import { forbidden } from "../errors/domain-error";
import { isCorpAdministrator, seesWholeCorp, type Principal } from "./principal";

/*
 * Who may run the compliance audit of messages (issue 14, item 8; source §7). Besides the scope
 * `messages:audit` (declared on the resolvers), a corp administrator: an app acting on its own or
 * a member who administers the corp, through an app that sees the whole corp (the audit reads every
 * conversation and names their senders, so an app limited to some departments would learn of
 * members outside its visibility). Ordinary members and leaders never.
 */

/** May the principal keep the sensitive words and read the audit's hits? */
export function canAuditMessages(principal: Principal): boolean {
  return isCorpAdministrator(principal) && seesWholeCorp(principal);
}

/** Refuses (FORBIDDEN) the compliance audit to all but corp administrators through a whole-corp app. */
export function requireMessageAuditor(principal: Principal): void {
  if (canAuditMessages(principal)) return;
  if (!isCorpAdministrator(principal)) throw forbidden("Only corp administrators may run the compliance audit of messages.");
  if (!seesWholeCorp(principal)) throw forbidden("The compliance audit needs an app that sees the whole corp.");
}
