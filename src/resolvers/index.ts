import { DepartmentResolver } from "./department.resolver";
import { DirectoryEventResolver } from "./directory-event.resolver";
import { MemberResolver } from "./member.resolver";
import { QueryResolver } from "./query.resolver";

/** Every resolver class of the schema. */
export const RESOLVERS = [QueryResolver, DepartmentResolver, MemberResolver, DirectoryEventResolver] as const;
