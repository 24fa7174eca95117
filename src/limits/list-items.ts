/**
 * The run-time half of the cost cap (issue 11). The cost analysis counts a plain list (a
 * department's children, a member's departments, …) at its declared typical size; real data may be
 * larger (a department with 600 sub-departments), and nesting multiplies it. So each request has a
 * budget of list items (`MAX_LIST_ITEMS`) that those lists draw on as they resolve; past it, the
 * list fields answer LIMIT_EXCEEDED instead of data. Connections need no budget: `first`/`last`
 * (at most 100) bound them exactly and the analysis counts them so.
 */
export interface ListItemBudget {
  /** Draws `count` items; throws LIMIT_EXCEEDED (limit `items`) once the request's budget is spent. */
  takeListItems(count: number): void;
}

type List<T> = readonly T[] | null | undefined;

/** Passes a resolved (or resolving) list through the request's item budget. */
export function countedList<T, L extends List<T>>(budget: ListItemBudget, list: L | Promise<L>): L | Promise<L> {
  if (list instanceof Promise) return list.then((items) => countedList(budget, items));
  if (list) budget.takeListItems(list.length);
  return list;
}
