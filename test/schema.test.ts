import { readFileSync } from "node:fs";
import path from "node:path";
import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isObjectType,
  isEnumType,
  type GraphQLSchema,
} from "graphql";
import { fieldCostSpec } from "../src/schema/cost";
import { buildWorkgraphSchema, printWorkgraphSchema } from "../src/schema/build";

/** The schema is the public contract: documented everywhere, and `schema.graphql` is what runs. */
describe("schema", () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildWorkgraphSchema();
  });

  it("describes every type, field, argument and enum value", () => {
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith("__") || ["String", "Int", "Float", "Boolean", "ID"].includes(type.name)) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of "args" in field ? field.args : []) {
            if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
          }
        }
      }
      if (isEnumType(type)) {
        for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("declares the cost of every list of objects and every connection (@listSize), and says it in the description", () => {
    const undeclared: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith("__") || type.name.endsWith("Connection")) continue;
      for (const field of Object.values(type.getFields())) {
        const returns = getNullableType(field.type);
        const isConnection = getNamedType(field.type).name.endsWith("Connection");
        if (!(isListType(returns) && isCompositeType(getNamedType(field.type))) && !isConnection) continue;
        const spec = fieldCostSpec(field).listSize;
        if (!spec || (isConnection && !spec.sizedFields?.length)) undeclared.push(`${type.name}.${field.name}`);
        else if (!field.description?.includes("Cost:")) undeclared.push(`${type.name}.${field.name} (description)`);
      }
    }
    expect(undeclared).toEqual([]);
  });

  it("matches the committed schema.graphql (run `npm run schema:print` after changing it)", () => {
    const committed = readFileSync(path.join(__dirname, "../schema.graphql"), "utf8");
    expect(committed).toBe(printWorkgraphSchema(schema));
  });

  it("exposes the contract's names", () => {
    const query = schema.getQueryType()!.getFields();
    expect(Object.keys(query)).toEqual(
      expect.arrayContaining(["viewer", "corp", "node", "department", "departments", "member", "memberByEmployeeId", "members"]),
    );
    const mutation = schema.getMutationType()!.getFields();
    expect(Object.keys(mutation)).toEqual(
      expect.arrayContaining(["createDepartment", "createMember", "deleteDepartment", "deleteMember", "setMemberStatus", "updateDepartment", "updateMember"]),
    );
    // Apps and SSO (issue 5).
    expect(Object.keys(query)).toEqual(expect.arrayContaining(["apps", "app", "appsForMember", "auditLog"]));
    expect(Object.keys(mutation)).toEqual(
      expect.arrayContaining([
        "createApp",
        "updateApp",
        "rotateAppSecret",
        "setAppVisibility",
        "disableApp",
        "installApp",
        "uninstallApp",
        "createActivationLink",
        "revokeMemberSessions",
      ]),
    );
    const subscription = schema.getSubscriptionType()!.getFields();
    expect(Object.keys(subscription)).toEqual(expect.arrayContaining(["directoryEvents"]));
    // Import, export, directory health (issue 4).
    expect(Object.keys(query)).toEqual(expect.arrayContaining(["importJob", "directoryHealth"]));
    expect(Object.keys(mutation)).toEqual(expect.arrayContaining(["importMembers", "exportMembers"]));
    expect(Object.keys(subscription)).toEqual(expect.arrayContaining(["importJobEvents"]));
  });
});
