import { registerEnumType } from "type-graphql";

/** Who made an app (issue 5). */
export enum AppKind {
  SELF_BUILT = "SELF_BUILT",
  VENDOR = "VENDOR",
}
registerEnumType(AppKind, {
  name: "AppKind",
  description: "Who made an app.",
  valuesConfig: {
    SELF_BUILT: { description: "Built by the corp itself (createApp)." },
    VENDOR: { description: "A SaaS vendor's app, registered once and installed into many corps (installApp)." },
  },
});
