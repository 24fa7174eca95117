import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from "graphql";

/**
 * Does the query select the field at `path` below the current field (e.g. `["nodes",
 * "departments"]` under a connection)? Looks through fragments and inline fragments; ignores
 * `@skip`/`@include` and type conditions, so the answer may be a false "yes" (a resolver then
 * prefetches a little more than needed), never a false "no". Used to fetch nested data in the
 * same statement as its parent ("joins computed from the selection").
 */
export function selects(info: GraphQLResolveInfo, ...paths: string[][]): boolean {
  return paths.some((path) => info.fieldNodes.some((node) => walk(info, node.selectionSet, path, 0)));
}

/** Like `selects`, below `node` (a field found with `subField`). */
export function selectsBelow(info: GraphQLResolveInfo, node: FieldNode, ...paths: string[][]): boolean {
  return paths.some((path) => walk(info, node.selectionSet, path, 0));
}

/**
 * The first field named `name` selected directly under the current field (through fragments), or
 * undefined. Aliases are not distinguished: the first one found is the one a prefetch serves.
 */
export function subField(info: GraphQLResolveInfo, name: string): FieldNode | undefined {
  for (const node of info.fieldNodes) {
    const found = find(info, node.selectionSet, name);
    if (found) return found;
  }
  return undefined;
}

function find(info: GraphQLResolveInfo, set: SelectionSetNode | undefined, name: string): FieldNode | undefined {
  if (!set) return undefined;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value === name) return selection;
    } else {
      const inner = selection.kind === Kind.INLINE_FRAGMENT ? selection.selectionSet : info.fragments[selection.name.value]?.selectionSet;
      const found = find(info, inner, name);
      if (found) return found;
    }
  }
  return undefined;
}

function walk(info: GraphQLResolveInfo, set: SelectionSetNode | undefined, path: string[], depth: number): boolean {
  if (!set) return false;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== path[depth]) continue;
      if (depth === path.length - 1 || walk(info, (selection as FieldNode).selectionSet, path, depth + 1)) return true;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (walk(info, selection.selectionSet, path, depth)) return true;
    } else {
      const fragment = info.fragments[selection.name.value];
      if (fragment && walk(info, fragment.selectionSet, path, depth)) return true;
    }
  }
  return false;
}

const documentNames = new WeakMap<object, ReadonlySet<string>>();

/**
 * Every field name the operation selects anywhere (its fragments included), computed once per
 * document. A prefetch may leave out a column whose field nobody selects: `has(name)` false means
 * no resolver of this request reads that field, whatever type it is on.
 */
export function documentFieldNames(info: GraphQLResolveInfo): ReadonlySet<string> {
  let names = documentNames.get(info.operation);
  if (!names) {
    const found = new Set<string>();
    const visit = (set: SelectionSetNode | undefined) => {
      for (const selection of set?.selections ?? []) {
        if (selection.kind === Kind.FIELD) found.add(selection.name.value);
        if (selection.kind !== Kind.FRAGMENT_SPREAD) visit(selection.selectionSet);
      }
    };
    visit(info.operation.selectionSet);
    for (const fragment of Object.values(info.fragments)) visit(fragment.selectionSet);
    names = found;
    documentNames.set(info.operation, names);
  }
  return names;
}
