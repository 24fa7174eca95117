import { Field, ID, InterfaceType } from "type-graphql";

/** Relay's Node: anything with a global id, fetchable with `node(id:)`. */
@InterfaceType("Node", {
  description: "An object with an opaque global id, fetchable with `node(id:)`.",
  resolveType: (value: { constructor: { name: string } }) => value.constructor.name,
})
export abstract class Node {
  @Field(() => ID, { description: "Opaque global id. Stable; never parse it." })
  id: string;
}
