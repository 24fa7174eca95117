import { App } from "./app.entity";
import { Corp } from "./corp.entity";
import { Department } from "./department.entity";
import { DepartmentLeader } from "./department-leader.entity";
import { EventRecord } from "./event.entity";
import { Member } from "./member.entity";
import { MemberDepartment } from "./member-department.entity";
import { SigningKey } from "./signing-key.entity";
import { ImportJob } from "./import-job.entity";
import { ImportJobError } from "./import-job-error.entity";
import { MemberExport } from "./member-export.entity";

/** Every entity, for the DataSource. */
export const ENTITIES = [Corp, App, SigningKey, Department, Member, MemberDepartment, DepartmentLeader, EventRecord, ImportJob, ImportJobError, MemberExport];
