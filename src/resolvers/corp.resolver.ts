import { FieldResolver, Resolver, Root } from "type-graphql";
import { Corp } from "../entities/corp.entity";
import { FEATURES, featuresOf } from "../domain/editions";
import { CorpFeature } from "../schema/feature.types";
import { ListSize } from "../schema/cost";

/** The corp's computed fields: what its edition includes (the catalog of `domain/editions.ts`). */
@Resolver(() => Corp)
export class CorpResolver {
  @ListSize(Object.keys(FEATURES).length)
  @FieldResolver(() => [CorpFeature], {
    description:
      "Every feature that not all editions have, with the edition it needs and whether this corp has it. A field that needs one is marked `@requiresEdition` in the schema and answers EDITION_REQUIRED when the corp lacks it.",
  })
  features(@Root() corp: Corp): CorpFeature[] {
    return featuresOf(corp.edition);
  }
}
