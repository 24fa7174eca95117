import {
  getNamedType,
  getNullableType,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  getDirectiveValues,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { MUTATION_WEIGHT, fieldCostSpec } from "../schema/cost";

/**
 * What an operation really cost (issue 13), by the same `@cost` weights as its requested cost
 * (`analyze.ts`), but counting the items its lists and connections returned instead of the items
 * asked for: `departments(first: 100)` that returned 3 costs 3 items. Shopify's `actualQueryCost`.
 * A field that returned null costs its own weight; a top-level mutation field always costs its
 * weight (it ran). Where the concrete type of an abstract field is unknown, the largest of its type
 * conditions counts (as in the requested cost), so the actual cost never exceeds the requested.
 * `Infinity` when the walk would be too long (the caller then charges the requested cost).
 */
export function actualCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
  data: Record<string, unknown> | null | undefined,
): number {
  const root = schema.getRootType(operation.operation);
  if (!root || !data) return operation.operation === "mutation" ? MUTATION_WEIGHT : 0;
  const fast = planned(root, operation, data);
  if (fast !== undefined) return fast;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  const isMutation = operation.operation === "mutation";

  const included = (node: FieldNode | { directives?: FieldNode["directives"] }): boolean => {
    if (!node.directives?.length) return true;
    try {
      if (getDirectiveValues(GraphQLSkipDirective, node as FieldNode, variables)?.if === true) return false;
      if (getDirectiveValues(GraphQLIncludeDirective, node as FieldNode, variables)?.if === false) return false;
    } catch {
      // Variables were coerced before execution; nothing to refuse here.
    }
    return true;
  };

  /** The cost of `value` (an item, a list of items, or null) selected with `node` on a field of type `fieldType`. */
  const valueCost = (value: unknown, weight: number, named: GraphQLCompositeType | undefined, set: SelectionSetNode | undefined): number => {
    if (Array.isArray(value)) {
      let sum = 0;
      for (const item of value) sum += valueCost(item, weight, named, set);
      return sum;
    }
    if (value === null || value === undefined || !named || !set || typeof value !== "object") return weight;
    return weight + selectionCost(set, named, value as Record<string, unknown>, false);
  };

  // Each (selection set, type) is walked once per value: a fragment spread twice on the same object
  // (`F(i) { ...F(i-1) ...F(i-1) }`) is counted from the memo, so the walk is linear in the
  // document and the result, never exponential (what analysis and execution also guarantee).
  const memo = new WeakMap<object, Map<SelectionSetNode, Map<string, number>>>();
  let steps = 0;
  const selectionCost = (set: SelectionSetNode, type: GraphQLCompositeType, value: Record<string, unknown>, top: boolean): number => {
    let bySet = memo.get(value);
    const known = bySet?.get(set)?.get(type.name);
    if (known !== undefined) return known;
    if (++steps > MAX_STEPS) throw new WalkTooLong();
    const cost = walkSelection(set, type, value, top);
    if (!bySet) memo.set(value, (bySet = new Map()));
    let byType = bySet.get(set);
    if (!byType) bySet.set(set, (byType = new Map()));
    byType.set(type.name, cost);
    return cost;
  };

  const walkSelection = (set: SelectionSetNode, type: GraphQLCompositeType, value: Record<string, unknown>, top: boolean): number => {
    let own = 0;
    const groups = new Map<string, number>();
    const conditional = (condition: string | undefined, inner: SelectionSetNode) => {
      const target = condition ? schema.getType(condition) : type;
      if (!target || !isCompositeType(target)) return;
      // On a concrete type, a condition it does not satisfy selected nothing.
      if (isObjectType(type) && target !== type && !(isAbstractType(target) && schema.isSubType(target, type))) return;
      const cost = selectionCost(inner, isObjectType(type) ? type : target, value, top);
      if (!condition || target === type || isObjectType(type)) own += cost;
      else groups.set(condition, (groups.get(condition) ?? 0) + cost);
    };
    for (const selection of set.selections) {
      if (!included(selection)) continue;
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name === "__typename" || name === "__schema" || name === "__type") continue;
        if (!isObjectType(type) && !isInterfaceType(type)) continue;
        const field = type.getFields()[name];
        const key = selection.alias?.value ?? name;
        if (!field || !(key in value)) continue;
        const named = getNamedType(field.type);
        const weight = fieldCostSpec(field).weight ?? (top && isMutation ? MUTATION_WEIGHT : isCompositeType(named) ? 1 : 0);
        const composite = isCompositeType(getNullableType(named)) ? (named as GraphQLCompositeType) : undefined;
        own += valueCost(value[key], weight, composite, selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        conditional(selection.typeCondition?.name.value, selection.selectionSet);
      } else {
        const fragment = fragments[selection.name.value];
        if (fragment) conditional(fragment.typeCondition.name.value, fragment.selectionSet);
      }
    }
    let widest = 0;
    for (const cost of groups.values()) widest = Math.max(widest, cost);
    return own + widest;
  };

  try {
    return selectionCost(operation.selectionSet, root, data, true);
  } catch (e) {
    if (e instanceof WalkTooLong) return Infinity; // the caller keeps the requested cost
    throw e;
  }
}

/**
 * The common case, fast: a document of plain fields (no fragments, no directives) on object types.
 * Each (selection set, type) gets a plan once, cached on the parsed document (Apollo keeps parsed
 * documents per query text): the response key, weight and child plan of each field, so the walk
 * over the result is property reads and additions (q1: 4 µs instead of 40). `undefined` when some
 * selection set needs the general walk below (fragments, `@skip`/`@include`, abstract types).
 */
interface PlannedField {
  key: string;
  weight: number;
  /** The field's selection and type, when it has one (planned on first use). */
  child?: { set: SelectionSetNode; type: GraphQLCompositeType; plan?: PlannedField[] | null };
}

const plans = new WeakMap<SelectionSetNode, Map<string, PlannedField[] | null>>();

function planOf(set: SelectionSetNode, type: GraphQLCompositeType, mutationRoot: boolean): PlannedField[] | null {
  let byType = plans.get(set);
  if (!byType) plans.set(set, (byType = new Map()));
  const key = mutationRoot ? `mutation:${type.name}` : type.name;
  let plan = byType.get(key);
  if (plan !== undefined) return plan;
  plan = isObjectType(type) ? [] : null;
  for (const selection of set.selections) {
    if (!plan || !isObjectType(type)) break;
    if (selection.kind !== Kind.FIELD || selection.directives?.length) {
      plan = null;
      break;
    }
    const name = selection.name.value;
    if (name === "__typename" || name === "__schema" || name === "__type") continue;
    const field = type.getFields()[name];
    if (!field) continue;
    const named = getNamedType(field.type);
    const weight = fieldCostSpec(field).weight ?? (mutationRoot ? MUTATION_WEIGHT : isCompositeType(named) ? 1 : 0);
    const child = isCompositeType(named) && selection.selectionSet ? { set: selection.selectionSet, type: named } : undefined;
    plan.push({ key: selection.alias?.value ?? name, weight, child });
  }
  byType.set(key, plan);
  return plan;
}

/** Thrown inside the planned walk when a selection set has no plan: the general walk takes over. */
class NoPlan extends Error {}

function plannedValue(value: unknown, field: PlannedField): number {
  if (Array.isArray(value)) {
    let sum = 0;
    for (let i = 0; i < value.length; i++) sum += plannedValue(value[i], field);
    return sum;
  }
  const child = field.child;
  if (value === null || value === undefined || !child || typeof value !== "object") return field.weight;
  if (child.plan === undefined) child.plan = planOf(child.set, child.type, false);
  if (child.plan === null) throw new NoPlan();
  return field.weight + plannedObject(child.plan, value as Record<string, unknown>);
}

function plannedObject(plan: PlannedField[], value: Record<string, unknown>): number {
  let sum = 0;
  for (let i = 0; i < plan.length; i++) {
    const field = plan[i];
    const v = value[field.key];
    if (v === undefined && !(field.key in value)) continue;
    sum += plannedValue(v, field);
  }
  return sum;
}

function planned(root: GraphQLCompositeType, operation: OperationDefinitionNode, data: Record<string, unknown>): number | undefined {
  const plan = planOf(operation.selectionSet, root, operation.operation === "mutation");
  if (!plan) return undefined;
  try {
    return plannedObject(plan, data);
  } catch (e) {
    if (e instanceof NoPlan) return undefined;
    throw e;
  }
}

/**
 * Selection sets walked at most per result (each at most once per object): far beyond any result
 * the caps let through (10,000 items of a few dozen selections), a bound on the walk's CPU whatever
 * the document. Past it the actual cost is not computed, and nothing is given back.
 */
const MAX_STEPS = 1_000_000;

class WalkTooLong extends Error {}
