import { createHash } from "node:crypto";
import { Kind, print, visit, type DocumentNode, type OperationDefinitionNode, type FieldNode } from "graphql";

/** A subscription's document as its group executes it, and the key of that group. */
export interface GroupDocument {
  document: DocumentNode;
  variables: Record<string, unknown>;
  /** Equal for two subscribers exactly when their documents and variables give the same result for an event. */
  key: string;
}

/**
 * The document a subscriber's events are executed with, without the root field's `positionArgs`
 * (they choose where the stream starts, not what an event looks like) and without the variables
 * only they used; keyed by the printed document, the operation name and the remaining variables.
 * So `directoryEvents(after: "41")` and `directoryEvents(after: $cursor)` with any cursor share one
 * group with `directoryEvents` once live. A root that is not one plain field (a fragment spread,
 * a directive) is kept as it is: its subscribers group by the whole document and variables.
 */
export function groupDocument(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
  positionArgs: readonly string[],
): GroupDocument {
  // Subscribers of one query text share one parsed document (`http/document-cache.ts`): they share
  // its group document too, per operation name, position arguments and variables (bounded: resume
  // cursors make many variants, most of them used once).
  let byDocument = made.get(document);
  if (!byDocument) made.set(document, (byDocument = new Map()));
  const key = JSON.stringify([operationName ?? null, positionArgs, variables ?? null]);
  let found = byDocument.get(key);
  if (!found) {
    found = make(document, operationName, variables, positionArgs);
    byDocument.set(key, found);
    if (byDocument.size > 100) byDocument.delete(byDocument.keys().next().value!);
  }
  return found;
}

const made = new WeakMap<DocumentNode, Map<string, GroupDocument>>();

function make(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
  positionArgs: readonly string[],
): GroupDocument {
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (operationName == null || d.name?.value === operationName),
  );
  const root = operation?.selectionSet.selections;
  const plain = root?.length === 1 && root[0].kind === Kind.FIELD && !root[0].directives?.length;
  let stripped = document;
  if (plain && operation) {
    const field = root[0] as FieldNode;
    stripped = visit(document, {
      Field: (node) => (node === field ? { ...node, arguments: node.arguments?.filter((a) => !positionArgs.includes(a.name.value)) } : undefined),
    });
    const used = new Set<string>();
    // Variables used by the selection (a definition's own `$name` is not a use).
    visit(stripped, { VariableDefinition: () => false, Variable: (node) => void used.add(node.name.value) });
    stripped = visit(stripped, {
      OperationDefinition: (node) =>
        node.name?.value === operation.name?.value
          ? { ...node, variableDefinitions: node.variableDefinitions?.filter((v) => used.has(v.variable.name.value)) }
          : undefined,
    });
  }
  const kept: Record<string, unknown> = {};
  const declared = new Set(
    stripped.definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION ? (d.variableDefinitions ?? []).map((v) => v.variable.name.value) : [])),
  );
  for (const name of [...declared].sort()) if (variables && name in variables) kept[name] = variables[name];
  const key = createHash("sha256")
    .update(print(stripped))
    .update("\0")
    .update(operationName ?? "")
    .update("\0")
    .update(JSON.stringify(kept))
    .digest("base64url");
  return { document: stripped, variables: kept, key };
}
