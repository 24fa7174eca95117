import { badInput, notFound } from "../errors/domain-error";

/** Types that have global ids. */
export type NodeTypeName = "Corp" | "App" | "Department" | "Member" | "Conversation" | "Message" | "GroupBot" | "AutoReplyRule" | "MessageAuditHit";
const NODE_TYPES: readonly NodeTypeName[] = ["Corp", "App", "Department", "Member", "Conversation", "Message", "GroupBot", "AutoReplyRule", "MessageAuditHit"];

/**
 * Opaque global ids (`base64url("Type:pk")`), encoded and decoded only at the API edge; services
 * see primary keys. Clients must treat them as opaque strings.
 */
export function toGlobalId(type: NodeTypeName, pk: string): string {
  return Buffer.from(`${type}:${pk}`, "utf8").toString("base64url");
}

/** Decodes any global id; undefined when it is not one of ours. */
export function parseGlobalId(id: string): { type: NodeTypeName; pk: string } | undefined {
  if (typeof id !== "string" || id.length === 0 || id.length > 80 || !/^[A-Za-z0-9_-]+$/.test(id)) return undefined;
  const decoded = Buffer.from(id, "base64url").toString("utf8");
  const m = /^([A-Za-z]+):([1-9][0-9]{0,17})$/.exec(decoded);
  if (!m || !NODE_TYPES.includes(m[1] as NodeTypeName)) return undefined;
  return { type: m[1] as NodeTypeName, pk: m[2] };
}

/**
 * Decodes an id that must be of `type`: a malformed id is BAD_USER_INPUT naming `field`; an id of
 * another type is NOT_FOUND (it names nothing of that type).
 */
export function fromGlobalId(id: string, type: NodeTypeName, field: string): string {
  const parsed = parseGlobalId(id);
  if (!parsed) throw badInput(field, `${field} is not a valid ${type} id.`);
  if (parsed.type !== type) throw notFound(type, field);
  return parsed.pk;
}
