/**
 * Unique constraints whose violation is the client's conflict (two concurrent writers raced past
 * the service's own check), with the input field and the message the client gets. The transaction
 * path (`db/transaction.ts`) turns such a violation into CONFLICT.
 */
export const CONSTRAINT_CONFLICTS: Readonly<Record<string, { field: string; message: string }>> = {
  member_corp_employee_id_key: { field: "input.employeeId", message: "A member with this employee id already exists in the corp." },
  member_corp_mobile_key: { field: "input.mobile", message: "Another member of the corp already has this mobile number." },
  member_corp_email_key: { field: "input.email", message: "Another member of the corp already has this email address." },
  department_parent_name_key: { field: "input.name", message: "The parent department already has a sub-department with this name." },
};
