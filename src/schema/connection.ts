import { Field, Int, ObjectType, type ClassType } from "type-graphql";
import { MAX_PAGE_SIZE } from "../domain/paging";

@ObjectType("PageInfo", { simpleResolvers: true, description: "Where this page sits in the list (Relay cursor connections)." })
export class PageInfo {
  @Field({ description: "True when more items follow the last one of this page." })
  hasNextPage: boolean;

  @Field({ description: "True when items precede the first one of this page." })
  hasPreviousPage: boolean;

  @Field(() => String, { nullable: true, description: "Cursor of the first item; pass as `before` for the previous page." })
  startCursor: string | null;

  @Field(() => String, { nullable: true, description: "Cursor of the last item; pass as `after` for the next page." })
  endCursor: string | null;
}

/** Declares the `<Name>Connection` and `<Name>Edge` GraphQL types for a node type. */
export function ConnectionType<T extends object>(node: ClassType<T>, name: string, what: string) {
  @ObjectType(`${name}Edge`, { simpleResolvers: true, description: `One ${what} in a page, with its cursor.` })
  class Edge {
    @Field(() => node, { description: `The ${what}.` })
    node: T;

    @Field({ description: "Opaque cursor of this item; pass as `after` or `before`." })
    cursor: string;
  }

  @ObjectType(`${name}Connection`, { simpleResolvers: true, description: `A page of ${what}s (Relay cursor connection, at most ${MAX_PAGE_SIZE} a page).` })
  class ConnectionClass {
    @Field(() => [Edge], { description: "The items of this page with their cursors." })
    edges: Edge[];

    @Field(() => [node], { description: "The items of this page (the edges' nodes, for brevity)." })
    nodes: T[];

    @Field(() => PageInfo, { description: "Cursors and whether more pages exist." })
    pageInfo: PageInfo;

    @Field(() => Int, { description: "Number of items in the whole list (all pages); costs one extra query." })
    totalCount: number;
  }
  return ConnectionClass;
}
