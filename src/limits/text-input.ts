import { Kind, visit, type DocumentNode, type ValueNode } from "graphql";
import { badInput } from "../errors/domain-error";

/**
 * No text input may carry a NUL character: PostgreSQL cannot store one in `text`, so it would fail
 * deep inside a statement as an internal error. Checked once per operation, on its variables and on
 * the string literals of its arguments, before anything runs; the error names the field
 * (`input.name`, or the variable's own path).
 */
export function checkNoNul(document: DocumentNode, variables: Readonly<Record<string, unknown>> | null | undefined): void {
  const refuse = (field: string) => badInput(field, `${field} must not contain NUL (\\u0000) characters.`);
  const scan = (value: unknown, path: string): void => {
    if (typeof value === "string") {
      if (value.includes("\u0000")) throw refuse(path);
    } else if (Array.isArray(value)) value.forEach((item) => scan(item, path));
    else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) scan(v, `${path}.${k}`);
  };
  for (const [name, value] of Object.entries(variables ?? {})) scan(value, name);

  const scanLiteral = (value: ValueNode, path: string): void => {
    if (value.kind === Kind.STRING) {
      if (value.value.includes("\u0000")) throw refuse(path);
    } else if (value.kind === Kind.LIST) value.values.forEach((item) => scanLiteral(item, path));
    else if (value.kind === Kind.OBJECT) value.fields.forEach((f) => scanLiteral(f.value, `${path}.${f.name.value}`));
  };
  visit(document, { Argument: (node) => void scanLiteral(node.value, node.name.value) });
}
