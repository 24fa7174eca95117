import { Field, ObjectType, registerEnumType } from "type-graphql";
import { Edition } from "../domain/enums";
import { Feature, FEATURES } from "../domain/editions";

registerEnumType(Feature, {
  name: "Feature",
  description:
    "A part of the API that only some editions have. Fields that need one are marked `@requiresEdition(edition:, feature:)`; `corp { features }` lists them all.",
  valuesConfig: Object.fromEntries(Object.entries(FEATURES).map(([key, spec]) => [key, { description: spec.description }])),
});

@ObjectType("CorpFeature", { description: "A feature of the catalog and whether the corp's edition has it." })
export class CorpFeature {
  @Field(() => Feature, { description: "The feature's stable key, as `@requiresEdition(feature:)` names it." })
  key: Feature;

  @Field({ description: "What the feature is and which operations need it." })
  description: string;

  @Field(() => Edition, { description: "The lowest edition that has the feature." })
  edition: Edition;

  @Field({ description: "Whether this corp has it: false means its operations answer EDITION_REQUIRED." })
  enabled: boolean;
}
